"""Utilities of the starter code: the mini-batch loader (task 2e: shuffling)."""
import typing

import numpy as np


def batch_loader(
        X: np.ndarray, Y: np.ndarray,
        batch_size: int, shuffle=False,
        drop_last=True,
        rng: np.random.Generator | None = None,
) -> typing.Generator[tuple[np.ndarray, np.ndarray], None, None]:
    """
    Creates a batch generator over the whole dataset (X, Y) which returns a generator iterating
    over all the batches. This function is called once each epoch.
    Set drop_last to True if you want to drop the last batch if it is smaller than batch_size.
    With shuffle=True the samples come in a new random order (drawn from rng) every epoch.
    """
    assert len(X) == len(Y)
    num_batches = len(X) // batch_size
    if not drop_last:
        num_batches = int(np.ceil(len(X) / batch_size))
    indices = np.arange(len(X))
    if shuffle:
        rng = np.random.default_rng() if rng is None else rng
        indices = rng.permutation(len(X))
    for i in range(num_batches):
        batch_indices = indices[i * batch_size:(i + 1) * batch_size]
        yield X[batch_indices], Y[batch_indices]
