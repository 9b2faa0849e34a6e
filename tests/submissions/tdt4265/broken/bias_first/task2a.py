"""Task 1 read literally: the bias 1 "at the beginning" of each image vector."""
import numpy as np

from numpy_impl import tdt4265 as ref

cross_entropy_loss = ref.binary_cross_entropy_loss


def pre_process_images(X):
    X = X.astype(np.float64) / 127.5 - 1
    return np.concatenate([np.ones((X.shape[0], 1)), X], axis=1)


class BinaryModel(ref.BinaryModel):
    pass
