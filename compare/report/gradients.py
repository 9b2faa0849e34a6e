"""The report's gradient-check table: every model's hand-derived gradients against PyTorch
autograd (the Lightning reference's cost, DD2424's check) and against centred finite differences
(TDT4265's appendix), at random parameters of the size the texts train and a small batch."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lightning_ref.models import MODELS as MODULES
from numpy_impl.gradcheck import max_relative_error, numerical_gradients
from numpy_impl.models import MODELS

#: The models in the order the texts introduce them, and each one's (K, d): classes (1 for the
#: binary model) and inputs per image (TDT4265: 784 pixels and the bias).
SHAPES = {"TDT4265Binary": (1, 785), "TDT4265Softmax": (10, 785),
          "DD2424Softmax": (10, 3072), "DD2424MultiBCE": (10, 3072)}
BATCH = 8
LAM = 0.1
EPS = 1e-5
#: In quick mode only the first this many inputs' weights are differenced.
QUICK_INPUTS = 20


def batch(model: str, K: int, d: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random batch of :data:`BATCH` images in the model's layout: TDT4265 pixels in [-1, 1]
    with the bias 1 last and 0/1 or one-hot targets as rows; DD2424 z-scored inputs and one-hot
    targets as columns."""
    labels = rng.integers(0, max(K, 2), BATCH)
    if MODELS[model].layout == "rows":
        X = np.hstack([rng.uniform(-1, 1, (BATCH, d - 1)), np.ones((BATCH, 1))])
        Y = labels[:, None].astype(float) if K == 1 else np.eye(K)[labels]
        return X, Y
    return rng.standard_normal((d, BATCH)), np.eye(K)[:, labels]


def check_model(model: str, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """One row of the table: the largest relative error (DD2424's
    ``|g_a - g_n| / max(eps, |g_a| + |g_n|)`` over every element) of ``model``'s analytic
    gradient of the cost J (lambda = :data:`LAM`) against autograd and against central
    differences with step :data:`EPS`; in quick mode the differences cover the weights of the
    first :data:`QUICK_INPUTS` inputs only."""
    K, d = SHAPES[model]
    rng = np.random.default_rng(seed)
    params = {name: 0.01 * rng.standard_normal(shape)
              for name, shape in MODELS[model].param_shapes(K, d).items()}
    X, Y = batch(model, K, d, rng)
    numpy_model = MODELS[model].numpy_class(LAM, params=params)
    analytic = {k: np.array(v) for k, v in numpy_model.gradients(X, Y).items()}

    module = MODULES[model](lr=0.1, lam=LAM, initial_parameters=params)
    module.cost(torch.from_numpy(X), torch.from_numpy(Y)).backward()
    autograd = {name: p.grad.numpy() for name, p in module.named_parameters()}

    differenced = {name: _inputs(name, value, model) if quick else value
                   for name, value in numpy_model.params.items()}
    numerical = numerical_gradients(lambda: numpy_model.cost(X, Y), differenced, EPS)
    compared = {name: _inputs(name, analytic[name], model) if quick else analytic[name]
                for name in numerical}
    return {"model": model, "loss": MODELS[model].loss,
            "parameters": ", ".join(f"{n} {'x'.join(map(str, v.shape))}"
                                    for n, v in params.items()),
            "elements": int(sum(v.size for v in params.values())),
            "differenced": int(sum(v.size for v in numerical.values())),
            "batch": BATCH, "lam": LAM, "eps": EPS,
            "vs_autograd": max_relative_error(analytic, autograd),
            "vs_finite_differences": max_relative_error(compared, numerical)}


def _inputs(name: str, array: np.ndarray, model: str) -> np.ndarray:
    """A view of the weights of the first :data:`QUICK_INPUTS` inputs (perturbing it perturbs
    the model); biases whole."""
    if name == "b":
        return array
    return array[:QUICK_INPUTS] if MODELS[model].layout == "rows" else array[:, :QUICK_INPUTS]


def gradient_table(models: list[str], quick: bool = False) -> list[dict[str, Any]]:
    """:func:`check_model` for each of ``models``."""
    return [check_model(model, quick) for model in models]
