import numpy as np

from numpy_impl import tdt4265 as ref

cross_entropy_loss = ref.cross_entropy_loss
one_hot_encode = ref.one_hot_encode


class SoftmaxModel(ref.SoftmaxModel):
    def forward(self, X):
        e = np.exp(X @ self.w)  # BROKEN: not shifted by the maximum
        return e / e.sum(axis=1, keepdims=True)
