"""A BinaryModel whose constructor reads the training data from the student's folder."""
import numpy as np


def pre_process_images(X):
    assert X.shape[1] == 784
    X = X.astype(np.float64) / 127.5 - 1
    return np.hstack([X, np.ones((X.shape[0], 1))])


def cross_entropy_loss(targets, outputs):
    assert targets.shape == outputs.shape
    tiny = np.finfo(outputs.dtype).tiny
    terms = targets * np.log(np.maximum(outputs, tiny)) \
        + (1 - targets) * np.log(np.maximum(1 - outputs, tiny))
    return -terms.mean()


class BinaryModel:

    def __init__(self):
        self.I = 785
        self.l2_reg_lambda = 0.0
        self.w = np.zeros((self.I, 1))
        self.grad = None
        self.X_train = np.load("data/mnist_train.npy")  # the checker's scratch folder has none

    def forward(self, X):
        z = X @ self.w
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, X, outputs, targets):
        N = X.shape[0]
        self.grad = -(X.T @ (targets - outputs)) / N + 2 * self.l2_reg_lambda * self.w

    def zero_grad(self):
        self.grad = None
