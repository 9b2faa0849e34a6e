"""The starter code's BaseTrainer over numpy_impl: early stopping after 10 validations."""
import numpy as np
import utils

from numpy_impl import tdt4265 as ref


class BaseTrainer(ref.BaseTrainer):
    batch_loader = staticmethod(utils.batch_loader)

    def __init__(self, model, learning_rate, batch_size, shuffle_dataset, X_train, Y_train,
                 X_val, Y_val):
        super().__init__(model, learning_rate, batch_size, shuffle_dataset, X_train, Y_train,
                         X_val, Y_val, rng=np.random.default_rng(0), early_stopping_patience=9)
