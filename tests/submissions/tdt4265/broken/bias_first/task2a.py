"""Task 1 read literally: the bias 1 "at the beginning" of each image vector."""
import numpy as np


def pre_process_images(X):
    X = X.astype(np.float64) / 127.5 - 1
    return np.concatenate([np.ones((X.shape[0], 1)), X], axis=1)


def cross_entropy_loss(targets, outputs):
    assert targets.shape == outputs.shape
    tiny = np.finfo(outputs.dtype).tiny
    terms = targets * np.log(np.maximum(outputs, tiny)) \
        + (1 - targets) * np.log(np.maximum(1 - outputs, tiny))
    return -terms.mean()


class BinaryModel:

    def __init__(self, l2_reg_lambda=0.0):
        self.I = 785
        self.l2_reg_lambda = l2_reg_lambda
        self.w = np.zeros((self.I, 1))
        self.grad = None

    def forward(self, X):
        z = X @ self.w
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, X, outputs, targets):
        N = X.shape[0]
        self.grad = -(X.T @ (targets - outputs)) / N + 2 * self.l2_reg_lambda * self.w

    def zero_grad(self):
        self.grad = None
