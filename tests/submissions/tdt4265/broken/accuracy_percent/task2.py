
import numpy as np
from trainer import BaseTrainer

from numpy_impl import tdt4265 as ref


def calculate_accuracy(X, targets, model):
    return 100 * np.mean((model.forward(X) >= 0.5) == (targets == 1))  # BROKEN or unusual


class LogisticTrainer(BaseTrainer, ref.LogisticTrainer):
    pass
