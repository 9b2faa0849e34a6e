"""A backward pass without the L2 term."""
import numpy as np


def cross_entropy_loss(targets, outputs):
    assert targets.shape == outputs.shape
    log_p = np.log(np.maximum(outputs, np.finfo(outputs.dtype).tiny))
    return -(targets * log_p).sum(axis=1).mean()


def one_hot_encode(Y, num_classes):
    return np.eye(num_classes)[Y[:, 0].astype(int)]


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
        self.grad = -(X.T @ (targets - outputs)) / X.shape[0]

    def zero_grad(self):
        self.grad = None
