"""Training at the top level of task2.py, outside `if __name__ == "__main__":` (skipped by
definitions-only loading)."""
import numpy as np
from task2a import BinaryModel, cross_entropy_loss
from trainer import BaseTrainer


def calculate_accuracy(X, targets, model):
    return float(np.mean((model.forward(X) >= 0.5) == (targets == 1)))


class LogisticTrainer(BaseTrainer):

    def train_step(self, X_batch, Y_batch):
        outputs = self.model.forward(X_batch)
        loss = cross_entropy_loss(Y_batch, outputs)
        self.model.backward(X_batch, outputs, Y_batch)
        self.model.w -= self.learning_rate * self.model.grad
        return loss

    def validation_step(self):
        loss = cross_entropy_loss(self.Y_val, self.model.forward(self.X_val))
        accuracy_train = calculate_accuracy(self.X_train, self.Y_train, self.model)
        accuracy_val = calculate_accuracy(self.X_val, self.Y_val, self.model)
        return loss, accuracy_train, accuracy_val


def load_binary_dataset(folder):
    """The 2s (target 1) and 3s (target 0) of MNIST from the student's own copy."""
    data = np.load(f"{folder}/mnist.npz")
    X, y = data["images"].reshape(-1, 784), data["labels"]
    keep = (y == 2) | (y == 3)
    X, Y = X[keep] / 127.5 - 1, (y[keep] == 2).astype(np.float64)[:, None]
    X = np.hstack([X, np.ones((len(X), 1))])
    return X[:20000], Y[:20000], X[20000:], Y[20000:]


X_train, Y_train, X_val, Y_val = load_binary_dataset("/home/student/mnist")  # not run
model = BinaryModel()
trainer = LogisticTrainer(model, 0.05, 128, False, X_train, Y_train, X_val, Y_val)
train_history, val_history = trainer.train(50)
