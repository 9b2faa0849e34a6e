"""A binary cross-entropy that never returns."""
import numpy as np


def pre_process_images(X):
    assert X.shape[1] == 784
    X = X.astype(np.float64) / 127.5 - 1
    return np.hstack([X, np.ones((X.shape[0], 1))])


def cross_entropy_loss(targets, outputs):
    while True:  # BROKEN: never returns
        pass


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
