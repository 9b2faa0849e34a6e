"""A one-hot encoding as booleans (accepted: it is used as numbers)."""
import numpy as np

from numpy_impl import tdt4265 as ref

cross_entropy_loss = ref.cross_entropy_loss


def one_hot_encode(Y, num_classes):
    return np.arange(num_classes)[None, :] == np.asarray(Y).reshape(-1, 1)


class SoftmaxModel(ref.SoftmaxModel):
    pass
