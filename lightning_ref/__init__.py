"""The PyTorch Lightning twin of numpy_impl: the same models, data, splits and random draws,
with autograd in place of hand-written gradients (see lightning_ref.models, lightning_ref.data,
lightning_ref.callbacks and ``python -m lightning_ref.fit``)."""

from lightning_ref.data import ExperimentDataModule
from lightning_ref.models import (
    MODELS,
    DD2424MultiBCE,
    DD2424Softmax,
    ParityModule,
    TDT4265Binary,
    TDT4265Softmax,
)

__all__ = [
    "MODELS",
    "DD2424MultiBCE",
    "DD2424Softmax",
    "ExperimentDataModule",
    "ParityModule",
    "TDT4265Binary",
    "TDT4265Softmax",
]
