"""The PyTorch Lightning twin of numpy_impl: the same models, data, splits and random draws,
with autograd in place of hand-written gradients (see lightning_ref.models, lightning_ref.data,
lightning_ref.callbacks and ``python -m lightning_ref.fit``).

The names below are imported on first use, so that ``python -m lightning_ref.fit --help``
answers without loading torch and Lightning.
"""

from importlib import import_module
from typing import Any

_HOMES = {
    "ExperimentDataModule": "lightning_ref.data",
    **{name: "lightning_ref.models" for name in (
        "MODELS", "DD2424MultiBCE", "DD2424Softmax", "ParityModule", "TDT4265Binary",
        "TDT4265Softmax")},
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'lightning_ref' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
