"""Functions made by top-level code (a factory call): definitions-only loading skips the call,
so one_hot_encode exists only when the module runs whole (--exec)."""
import numpy as np

from numpy_impl import tdt4265 as ref

cross_entropy_loss = ref.cross_entropy_loss


def _make_encoder(dtype):
    def encode(Y, num_classes):
        out = np.zeros((len(Y), num_classes), dtype=dtype)
        out[np.arange(len(Y)), np.asarray(Y).reshape(-1)] = 1
        return out
    return encode


one_hot_encode = _make_encoder(np.float64)


class SoftmaxModel(ref.SoftmaxModel):
    pass
