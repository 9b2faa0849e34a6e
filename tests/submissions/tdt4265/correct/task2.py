"""The starter code's task2 API over numpy_impl."""
from trainer import BaseTrainer

from numpy_impl import tdt4265 as ref

calculate_accuracy = ref.binary_accuracy


class LogisticTrainer(BaseTrainer, ref.LogisticTrainer):
    pass
