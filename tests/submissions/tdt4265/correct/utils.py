"""The starter code's batch_loader over numpy_impl."""
import numpy as np

from numpy_impl import tdt4265 as ref


def batch_loader(X, Y, batch_size, shuffle=False, drop_last=True, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    return ref.batch_loader(X, Y, batch_size, shuffle, drop_last, rng=rng)
