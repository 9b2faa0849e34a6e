"""The starter code's task3a API over numpy_impl."""
from numpy_impl import tdt4265 as ref

cross_entropy_loss = ref.cross_entropy_loss
one_hot_encode = ref.one_hot_encode


class SoftmaxModel(ref.SoftmaxModel):
    pass
