"""Gradient checks for any model: a cost function of no arguments and the arrays it reads.

``cost_fn`` must read the CURRENT contents of the arrays in ``params`` (e.g.
``lambda: model.cost(X, Y)`` with ``params = model.params``): the numerical gradient perturbs
those arrays in place, one element at a time, and restores each element exactly afterwards.
This is the only place in the package that loops over elements; it is a test tool, not a
training path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def numerical_gradients(cost_fn: Callable[[], float], params: Mapping[str, np.ndarray],
                        eps: float = 1e-3) -> dict[str, np.ndarray]:
    """Central differences, TDT4265 eq. 11: ``(J(theta + eps) - J(theta - eps)) / (2 eps)`` for
    every element of every array in ``params``. Returns float64 arrays shaped like ``params``.
    The truncation error is O(eps^2)."""
    grads = {}
    for name, theta in params.items():
        g = np.zeros(theta.shape, dtype=np.float64)
        for index in np.ndindex(theta.shape):
            original = theta[index].copy()
            theta[index] = original + eps
            cost_plus = float(cost_fn())
            theta[index] = original - eps
            cost_minus = float(cost_fn())
            theta[index] = original  # the saved value, not original +- eps -+ eps: exact restore
            g[index] = (cost_plus - cost_minus) / (2 * eps)
        grads[name] = g
    return grads


def check_tdt4265(cost_fn: Callable[[], float], params: Mapping[str, np.ndarray],
                  analytic: Mapping[str, np.ndarray], eps: float = 1e-3) -> float:
    """The starter code's gradient approximation test: every element of the analytic gradient
    must agree with the central difference (eq. 11, step ``eps``) within ``eps**2``.

    Returns the largest absolute difference found. Raises AssertionError naming the first
    element (array name and index, both values) that disagrees by more than ``eps**2``.
    """
    numerical = numerical_gradients(cost_fn, params, eps)
    worst = 0.0
    for name, gn in numerical.items():
        ga = np.asarray(analytic[name])
        if ga.shape != gn.shape:
            raise AssertionError(f"gradient {name!r} has shape {ga.shape}, expected {gn.shape}")
        difference = np.abs(ga - gn)
        index = np.unravel_index(np.argmax(difference), difference.shape)
        if difference[index] > eps**2:
            raise AssertionError(
                f"gradient {name}{[int(i) for i in index]}: analytic {ga[index]:.8g} vs numerical "
                f"{gn[index]:.8g}, difference {difference[index]:.3g} > eps^2 = {eps**2:.3g}"
            )
        worst = max(worst, float(difference.max(initial=0.0)))
    return worst


def relative_error(ga: np.ndarray, gn: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """DD2424's elementwise relative error ``|g_a - g_n| / max(eps, |g_a| + |g_n|)``."""
    ga, gn = np.asarray(ga), np.asarray(gn)
    return np.abs(ga - gn) / np.maximum(eps, np.abs(ga) + np.abs(gn))


def max_relative_error(analytic: Mapping[str, np.ndarray] | np.ndarray,
                       numerical: Mapping[str, np.ndarray] | np.ndarray,
                       eps: float = 1e-12) -> float:
    """The largest :func:`relative_error` over every element of every gradient (dicts with the
    same keys, or two arrays)."""
    if not isinstance(analytic, Mapping):
        return float(relative_error(analytic, numerical, eps).max(initial=0.0))
    if set(analytic) != set(numerical):
        raise ValueError(f"different gradients: {sorted(analytic)} vs {sorted(numerical)}")
    return max((max_relative_error(analytic[k], numerical[k], eps) for k in analytic),
               default=0.0)
