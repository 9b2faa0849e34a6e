"""A binary cross-entropy that returns an array of shape (1,) instead of a float."""
import numpy as np

from numpy_impl import tdt4265 as ref

pre_process_images = ref.pre_process_images


def cross_entropy_loss(targets, outputs):
    terms = targets * np.log(outputs) + (1 - targets) * np.log(1 - outputs)
    return -np.mean(terms, axis=0)  # shape (1,)


class BinaryModel(ref.BinaryModel):
    pass
