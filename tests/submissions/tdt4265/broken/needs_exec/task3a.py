"""Functions made by top-level code (a factory call): definitions-only loading skips the call,
so one_hot_encode exists only when the module runs whole (--exec)."""
import numpy as np


def cross_entropy_loss(targets, outputs):
    assert targets.shape == outputs.shape
    log_p = np.log(np.maximum(outputs, np.finfo(outputs.dtype).tiny))
    return -(targets * log_p).sum(axis=1).mean()


def _make_encoder(dtype):
    def encode(Y, num_classes):
        out = np.zeros((len(Y), num_classes), dtype=dtype)
        out[np.arange(len(Y)), np.asarray(Y).reshape(-1)] = 1
        return out
    return encode


one_hot_encode = _make_encoder(np.float64)


class SoftmaxModel:

    def __init__(self, l2_reg_lambda):
        self.I = 785
        self.num_outputs = 10
        self.w = np.zeros((self.I, self.num_outputs))
        self.grad = None
        self.l2_reg_lambda = l2_reg_lambda

    def forward(self, X):
        z = X @ self.w
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def backward(self, X, outputs, targets):
        N = X.shape[0]
        self.grad = -(X.T @ (targets - outputs)) / N + 2 * self.l2_reg_lambda * self.w

    def zero_grad(self):
        self.grad = None
