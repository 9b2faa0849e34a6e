"""A batch loader that ignores shuffle."""
import numpy as np


def batch_loader(X, Y, batch_size, shuffle=False, drop_last=True, rng=None):
    num_batches = len(X) // batch_size if drop_last else int(np.ceil(len(X) / batch_size))
    for i in range(num_batches):  # BROKEN: never shuffles
        yield X[i * batch_size:(i + 1) * batch_size], Y[i * batch_size:(i + 1) * batch_size]
