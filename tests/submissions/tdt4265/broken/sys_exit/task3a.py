import sys

from numpy_impl import tdt4265 as ref

cross_entropy_loss = ref.cross_entropy_loss


def one_hot_encode(Y, num_classes):
    sys.exit("no one-hot today")  # BROKEN


class SoftmaxModel(ref.SoftmaxModel):
    pass
