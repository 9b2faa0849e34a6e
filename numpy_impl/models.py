"""One interface over the four models, for code that must treat them alike (the experiment
runner, the parity tool, gradient checks).

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
1/2); ``gradients`` are those of the cost.
"""

from __future__ import annotations

import copy

import numpy as np
from numpy.typing import DTypeLike

from numpy_impl import dd2424, tdt4265
from numpy_impl import functional as F


class _TDT4265Model:
    data_layout = "rows"
    _model_class: type
    _loss = staticmethod(tdt4265.cross_entropy_loss_with_logits)  # of the scores z = X w
    _accuracy = staticmethod(tdt4265.accuracy)

    def __init__(self, lam: float = 0.0, *, params: dict[str, np.ndarray] | None = None,
                 dtype: DTypeLike | None = None) -> None:
        """Zero weights (the text's initialisation) unless ``params`` is given (it is copied).
        ``dtype`` (default: that of ``params``, else float64) is the dtype of ``w``."""
        self.lam = float(lam)
        self.model = self._model_class(l2_reg_lambda=self.lam)
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
        return float(self._loss(Y, self.model.scores(X)))

    def cost(self, X: np.ndarray, Y: np.ndarray) -> float:
        """Eq. 9: J = C + lambda * R(w), with R = ||w||^2 (eq. 10)."""
        return self.loss(X, Y) + self.lam * float(F.l2_penalty(self.model.w))

    def gradients(self, X: np.ndarray, Y: np.ndarray) -> dict[str, np.ndarray]:
        self.model.backward(X, self.probabilities(X), Y)
        return {"w": self.model.grad}

    def accuracy(self, X: np.ndarray, Y: np.ndarray) -> float:
        return self._accuracy(X, Y, self.model)

    def sgd_step(self, X: np.ndarray, Y: np.ndarray, lr: float) -> float:
        """One update on a batch; returns the batch's data loss before the update."""
        loss = self.loss(X, Y)
        outputs = self.model.forward(X)
        self.model.backward(X, outputs, Y)
        F.sgd_update(self.params, {"w": self.model.grad}, lr)
        return loss


class TDT4265Binary(_TDT4265Model):
    """Task 2: logistic regression, w (785, 1), binary cross-entropy (eq. 1, 3, 6)."""

    _model_class = tdt4265.BinaryModel
    _loss = staticmethod(tdt4265.binary_cross_entropy_loss_with_logits)
    _accuracy = staticmethod(tdt4265.binary_accuracy)


class TDT4265Softmax(_TDT4265Model):
    """Tasks 3-4: softmax regression, w (785, 10), cross-entropy (eq. 4, 5, 8) + L2."""

    _model_class = tdt4265.SoftmaxModel


class _DD2424Model:
    data_layout = "columns"
    _objective: dd2424.Objective

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
        return self._objective.apply(X, self._params)

    def loss(self, X: np.ndarray, Y: np.ndarray) -> float:
        return float(self._objective.loss_and_cost(X, Y, self._params, self.lam)[0])

    def cost(self, X: np.ndarray, Y: np.ndarray) -> float:
        return float(self._objective.loss_and_cost(X, Y, self._params, self.lam)[1])

    def gradients(self, X: np.ndarray, Y: np.ndarray) -> dict[str, np.ndarray]:
        return self._objective.backward(X, Y, self.probabilities(X), self._params, self.lam)

    def accuracy(self, X: np.ndarray, Y: np.ndarray) -> float:
        return dd2424.compute_accuracy(self.probabilities(X), dd2424.labels_of(Y))

    def sgd_step(self, X: np.ndarray, Y: np.ndarray, lr: float) -> float:
        """One update on a batch (eq. 8-9); returns the batch's data loss before the update."""
        P = self.probabilities(X)
        loss = float(self._objective.loss_and_cost(X, Y, self._params, self.lam, P)[0])
        F.sgd_update(self._params, self._objective.backward(X, Y, P, self._params, self.lam), lr)
        return loss


class DD2424Softmax(_DD2424Model):
    """Exercise 1: s = Wx + b, p = softmax(s), cross-entropy + lam ||W||^2 (eq. 1-11)."""

    _objective = dd2424.OBJECTIVES["softmax"]


class DD2424MultiBCE(_DD2424Model):
    """Exercise 2.2: p = sigmoid(s), multiple binary cross-entropy + lam ||W||^2 (eq. 12-14)."""

    _objective = dd2424.OBJECTIVES["multiple_bce"]


MODELS: dict[str, type] = {
    "TDT4265Binary": TDT4265Binary,
    "TDT4265Softmax": TDT4265Softmax,
    "DD2424Softmax": DD2424Softmax,
    "DD2424MultiBCE": DD2424MultiBCE,
}
