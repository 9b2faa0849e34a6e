"""The starter code's task3 API over numpy_impl."""
from trainer import BaseTrainer

from numpy_impl import tdt4265 as ref

calculate_accuracy = ref.accuracy


class SoftmaxTrainer(BaseTrainer, ref.SoftmaxTrainer):
    pass
