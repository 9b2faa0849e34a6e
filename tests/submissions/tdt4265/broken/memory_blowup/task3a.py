"""A one-hot encoding that keeps allocating until memory runs out."""
import numpy as np

from numpy_impl import tdt4265 as ref

cross_entropy_loss = ref.cross_entropy_loss


def one_hot_encode(Y, num_classes):
    hoard = []
    while True:  # BROKEN: never stops allocating
        hoard.append(np.ones(1 << 24))


class SoftmaxModel(ref.SoftmaxModel):
    pass
