"""The 2022 starter's utils.batch_loader (no rng argument), its shuffle (task 2e) filled in by
the student; the starter's data loading (import mnist, load_binary_dataset, ...) left out."""
from collections.abc import Generator

import numpy as np


def batch_loader(
        X: np.ndarray, Y: np.ndarray,
        batch_size: int, shuffle=False,
        drop_last=True) -> Generator:
    """
    Creates a batch generator over the whole dataset (X, Y) which returns a generator iterating
    over all the batches.
    This function is called once each epoch.
    """
    assert len(X) == len(Y)
    num_batches = len(X) // batch_size
    if not drop_last:
        num_batches = int(np.ceil(len(X) / batch_size))
    indices = list(range(len(X)))

    # TODO (task 2e) implement dataset shuffling here.
    if shuffle:
        indices = np.random.default_rng().permutation(len(X))

    for i in range(num_batches):
        # select a set of indices for each batch of samples
        batch_indices = indices[i*batch_size:(i+1)*batch_size]
        x = X[batch_indices]
        y = Y[batch_indices]
        # return both images (x) and labels (y)
        yield (x, y)
