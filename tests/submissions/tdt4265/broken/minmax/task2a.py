import numpy as np

from numpy_impl import tdt4265 as ref

cross_entropy_loss = ref.binary_cross_entropy_loss


def pre_process_images(X):
    X = (X - X.min()) / (X.max() - X.min()) * 2 - 1  # BROKEN: the batch's own min and max
    return np.hstack([X, np.ones((X.shape[0], 1))])


class BinaryModel(ref.BinaryModel):
    pass
