"""Every random draw of a run, defined once and used by both sides.

One generator per run, seeded as the DD2424 text shows (its "Top-level" step 3):
the initial weights are drawn first, then, at the start of every epoch, the
epoch's permutation (when shuffling) and then its flips (when augmenting).
The Lightning reference calls these same functions, so both sides see the same
numbers in the same order; a checkpoint stores ``rng.bit_generator.state``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

FLIP_PROBABILITY = 0.5


def make_rng(seed: int = 42) -> np.random.Generator:
    """The DD2424 recipe: a default_rng whose state is set from a fresh ``BitGen(seed)``."""
    rng = np.random.default_rng()
    BitGen = type(rng.bit_generator)
    rng.bit_generator.state = BitGen(seed).state
    return rng


def init_dd2424(K: int, d: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """DD2424 initialisation: ``W = 0.01 * N(0, 1)`` (K, d), drawn before ``b = 0`` (K, 1)."""
    W = 0.01 * rng.standard_normal(size=(K, d))
    b = np.zeros((K, 1))
    return {"W": W, "b": b}


def init_tdt4265(num_outputs: int, num_inputs: int = 785) -> dict[str, np.ndarray]:
    """TDT4265 initialisation: ``w`` of shape (785, num_outputs), all zeros (tasks 2b and 3b)."""
    return {"w": np.zeros((num_inputs, num_outputs))}


def initial_parameters(text: str, K: int, d: int, rng: np.random.Generator
                       ) -> dict[str, np.ndarray]:
    """The text's initialisation for K classes and d inputs: TDT4265 zeros ``w`` (d, K) (draws
    nothing), DD2424 ``W`` (K, d) drawn from ``rng`` before ``b`` (K, 1)."""
    return INITIALISATIONS[text](K, d, rng)


#: Each text's initialisation, as :func:`initial_parameters` calls it.
INITIALISATIONS: dict[str, Callable[[int, int, np.random.Generator], dict[str, np.ndarray]]] = {
    "tdt4265": lambda K, d, rng: init_tdt4265(K, d),
    "dd2424": init_dd2424,
}


@dataclass(frozen=True)
class EpochPlan:
    """The order in which an epoch visits the training samples, and which of them it flips.

    ``order`` has length n (a permutation, or ``arange(n)`` without shuffling);
    ``flip[i]`` says whether the sample at position ``i`` of ``order`` is flipped.
    """

    order: np.ndarray
    flip: np.ndarray | None


def draw_epoch(rng: np.random.Generator, n: int, shuffle: bool, flip: bool) -> EpochPlan:
    """Draw one epoch's plan: ``rng.permutation(n)`` if shuffling, then n flips with p = 0.5."""
    order = rng.permutation(n) if shuffle else np.arange(n)
    flips = rng.random(n) < FLIP_PROBABILITY if flip else None
    return EpochPlan(order=order, flip=flips)


def batch_slices(n: int, batch_size: int, drop_last: bool = True) -> list[slice]:
    """Positions of each mini-batch within an epoch's order: ``n // batch_size`` full batches,
    plus the remainder when ``drop_last`` is False."""
    return [slice(start, min(start + batch_size, n)) for start in range(0, n, batch_size)
            if start + batch_size <= n or not drop_last]
