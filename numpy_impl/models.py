"""The four models: one record each (:data:`MODELS`), and one interface over them for code
that must treat them alike (the experiment runner, the parity tool, gradient checks).

A :class:`ModelRecord` is the single definition of a model's facts: its name (the YAML's
``model.class_path``), its text, its loss, its NumPy class, its Lightning class, its parameter
names and shapes and its initialisation. Every part of the project looks them up here.

Every method delegates to the text modules (:mod:`numpy_impl.tdt4265`,
:mod:`numpy_impl.dd2424`), so each equation has one implementation. Layouts:

* ``data_layout == "rows"`` (TDT4265): X is (N, 785) with the bias column; Y is (N, 1) 0/1 for
  the binary model, one-hot (N, 10) for softmax. ``params == {"w": (785, K)}``.
* ``data_layout == "columns"`` (DD2424): X is (d, n); Y is one-hot (K, n).
  ``params == {"W": (K, d), "b": (K, 1)}``.

``params`` are the arrays the model computes with: updating or perturbing them in place
(``sgd_step``, :func:`numpy_impl.gradcheck.numerical_gradients`) changes the model.
``loss`` is the data loss, computed from the scores as the trainers compute it (exact where
probabilities round to 0 or 1); ``cost`` adds ``lam * ||W||^2`` (both texts' J, without the
1/2; :func:`numpy_impl.functional.cost`); ``gradients`` are those of the cost.
:func:`final_metrics` measures trained parameters on every part of a split.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import DTypeLike

from numpy_impl import dd2424, draws, tdt4265
from numpy_impl import functional as F
from numpy_impl.texts import TEXTS

if TYPE_CHECKING:
    from numpy_impl.splits import Split


class _TDT4265Model:
    data_layout = "rows"
    model_class: type  # the text's model (the starter's API)
    trainer_class: type[tdt4265.BaseTrainer]  # the text's trainer for it

    def __init__(self, lam: float = 0.0, *, params: dict[str, np.ndarray] | None = None,
                 dtype: DTypeLike | None = None) -> None:
        """Zero weights (the text's initialisation) unless ``params`` is given (it is copied).
        ``dtype`` (default: that of ``params``, else float64) is the dtype of ``w``."""
        self.lam = float(lam)
        self.model = self.model_class(l2_reg_lambda=self.lam)
        if params is not None:
            if params["w"].shape != self.model.w.shape:
                raise ValueError(f"w must have shape {self.model.w.shape}, got {params['w'].shape}")
            self.model.w = np.array(params["w"])
        if dtype is not None:
            self.model.w = self.model.w.astype(dtype)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {"w": self.model.w}

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        return self.model.forward(X)

    def loss(self, X: np.ndarray, Y: np.ndarray) -> float:
        """The data loss as the trainer records it: from the scores z = X w."""
        return float(self.trainer_class.loss_from_scores(Y, self.model.scores(X)))

    def cost(self, X: np.ndarray, Y: np.ndarray) -> float:
        """Eq. 9: J = C + lambda * R(w), with R = ||w||^2 (eq. 10)."""
        return float(F.cost(self.loss(X, Y), self.model.w, self.lam))

    def gradients(self, X: np.ndarray, Y: np.ndarray) -> dict[str, np.ndarray]:
        self.model.backward(X, self.probabilities(X), Y)
        return {"w": self.model.grad}

    def accuracy(self, X: np.ndarray, Y: np.ndarray) -> float:
        return self.trainer_class.accuracy_function(X, Y, self.model)

    def class_weights(self) -> np.ndarray:
        """One row of image weights per class (K, 784), the bias row (the last) left out."""
        return self.model.w[:-1].T


class TDT4265Binary(_TDT4265Model):
    """Task 2: logistic regression, w (785, 1), binary cross-entropy (eq. 1, 3, 6)."""

    model_class = tdt4265.BinaryModel
    trainer_class = tdt4265.LogisticTrainer


class TDT4265Softmax(_TDT4265Model):
    """Tasks 3-4: softmax regression, w (785, 10), cross-entropy (eq. 4, 5, 8) + L2."""

    model_class = tdt4265.SoftmaxModel
    trainer_class = tdt4265.SoftmaxTrainer


class _DD2424Model:
    data_layout = "columns"
    objective: dd2424.Objective  # the text's functions (ApplyNetwork, loss, cost, BackwardPass)

    def __init__(self, lam: float = 0.0, *, params: dict[str, np.ndarray] | None = None,
                 K: int = dd2424.K_CIFAR, d: int = 3072, rng: np.random.Generator | None = None,
                 dtype: DTypeLike | None = None) -> None:
        """The text's initialisation ``init_network(K, d, rng)`` (W drawn before b), unless
        ``params`` is given (deep-copied). ``dtype`` (default: that of the parameters) casts
        W and b."""
        self.lam = float(lam)
        if params is None:
            if rng is None:
                raise ValueError("pass params, or rng (draws.make_rng(seed)) to draw them")
            params = dd2424.init_network(K, d, rng)
        self._params = copy.deepcopy(dict(params))
        if dtype is not None:
            self._params = {k: v.astype(dtype) for k, v in self._params.items()}

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self._params

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        return self.objective.apply(X, self._params)

    def loss(self, X: np.ndarray, Y: np.ndarray) -> float:
        return float(self.objective.loss_and_cost(X, Y, self._params, self.lam)[0])

    def cost(self, X: np.ndarray, Y: np.ndarray) -> float:
        return float(self.objective.loss_and_cost(X, Y, self._params, self.lam)[1])

    def gradients(self, X: np.ndarray, Y: np.ndarray) -> dict[str, np.ndarray]:
        return self.objective.backward(X, Y, self.probabilities(X), self._params, self.lam)

    def accuracy(self, X: np.ndarray, Y: np.ndarray) -> float:
        return dd2424.compute_accuracy(self.probabilities(X), dd2424.labels_of(Y))

    def class_weights(self) -> np.ndarray:
        """One row of image weights per class: W (K, d)."""
        return self._params["W"]


class DD2424Softmax(_DD2424Model):
    """Exercise 1: s = Wx + b, p = softmax(s), cross-entropy + lam ||W||^2 (eq. 1-11)."""

    objective = dd2424.OBJECTIVES["softmax"]


class DD2424MultiBCE(_DD2424Model):
    """Exercise 2.2: p = sigmoid(s), multiple binary cross-entropy + lam ||W||^2 (eq. 12-14)."""

    objective = dd2424.OBJECTIVES["multiple_bce"]


UniformModel = _TDT4265Model | _DD2424Model


def class_templates(weights: np.ndarray, image_shape: tuple[int, int, int]) -> np.ndarray:
    """One image per class, (K, C, H, W) float64 in [0, 1], from one row of weights per class
    (a model's ``class_weights()``): the learnt weights drawn as class templates.

    A row is an image stored channel-major (CIFAR-10's layout: all of R row by row, then G,
    then B; MNIST has one channel). Each class is normalised on its own, as the DD2424 text
    does: ``(w - min) / (max - min)``; a constant row (zero weights) gives a black tile. The
    same operations as the Lightning reference's ``lightning_ref.figures.class_templates``
    (float64, each element correctly rounded), so equal weights give equal images.
    """
    height, width, channels = image_shape
    w = np.asarray(weights, dtype=np.float64).reshape(-1, channels, height, width)
    low = w.min(axis=(1, 2, 3), keepdims=True)
    span = w.max(axis=(1, 2, 3), keepdims=True) - low
    return np.where(span > 0, (w - low) / np.where(span > 0, span, 1), 0.0)


@dataclass(frozen=True)
class ModelRecord:
    """Everything the project knows about one model, defined once.

    Attributes:
        name: the model's name, as ``model.class_path`` in configs/ gives it.
        text: the assignment it belongs to, ``"tdt4265"`` or ``"dd2424"``.
        loss: the text's loss and its equation.
        numpy_class: the uniform NumPy model (over the text's API, see the module docstring).
        lightning_class: the import path of the LightningModule (numpy_impl never imports it).
        layout: ``"rows"`` (one sample per row) or ``"columns"`` (one sample per column).
        regularised: the parameter R(w) = ||w||^2 sums over (TDT4265's whole w, bias row
            included; DD2424's W, not b).
    """

    name: str
    text: Literal["tdt4265", "dd2424"]
    loss: str
    numpy_class: type[UniformModel]
    lightning_class: str
    layout: Literal["rows", "columns"]
    regularised: str

    def param_shapes(self, K: int, d: int) -> dict[str, tuple[int, ...]]:
        """Parameter names and shapes for K classes and d inputs (TDT4265: d counts the bias)."""
        return {"tdt4265": {"w": (d, K)}, "dd2424": {"W": (K, d), "b": (K, 1)}}[self.text]

    def initial_parameters(self, K: int, d: int, rng: np.random.Generator
                           ) -> dict[str, np.ndarray]:
        """The text's initialisation (:func:`numpy_impl.draws.initial_parameters`)."""
        return draws.initial_parameters(self.text, K, d, rng)


def _record(name: str, text: Literal["tdt4265", "dd2424"], loss: str,
            numpy_class: type[UniformModel]) -> ModelRecord:
    return ModelRecord(name, text, loss, numpy_class, f"lightning_ref.models.{name}",
                       numpy_class.data_layout, TEXTS[text].weights)


#: The four models by name: the one table every part looks up.
MODELS: dict[str, ModelRecord] = {record.name: record for record in (
    _record("TDT4265Binary", "tdt4265", "binary cross-entropy (TDT4265 eq. 3)", TDT4265Binary),
    _record("TDT4265Softmax", "tdt4265", "cross-entropy (TDT4265 eq. 5)", TDT4265Softmax),
    _record("DD2424Softmax", "dd2424", "cross-entropy (DD2424 eq. 6)", DD2424Softmax),
    _record("DD2424MultiBCE", "dd2424", "multiple binary cross-entropy (DD2424 eq. 14)",
            DD2424MultiBCE),
)}


def final_metrics(model: str, params: Mapping[str, np.ndarray], lam: float, split: Split
                  ) -> dict[str, float]:
    """``{part}/loss``, ``{part}/cost`` and ``{part}/acc`` of trained parameters on every part
    of ``split`` (train, val and, where it has one, test),
    measured as the Lightning reference measures them. The one definition of a run's final
    metrics, for ``python -m numpy_impl`` and compare alike."""
    evaluated = MODELS[model].numpy_class(lam, params=dict(params))
    metrics: dict[str, float] = {}
    for part in ("train", "val", "test"):
        X, Y = getattr(split, f"X_{part}"), getattr(split, f"Y_{part}")
        if X is not None:
            metrics.update({f"{part}/loss": evaluated.loss(X, Y),
                            f"{part}/cost": evaluated.cost(X, Y),
                            f"{part}/acc": float(evaluated.accuracy(X, Y))})
    return metrics
