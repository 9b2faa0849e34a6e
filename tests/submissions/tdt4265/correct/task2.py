"""Task 2: training logistic regression to tell a 2 from a 3."""
import numpy as np
from task2a import BinaryModel, cross_entropy_loss
from trainer import BaseTrainer


def calculate_accuracy(X: np.ndarray, targets: np.ndarray, model: BinaryModel) -> float:
    """
    Args:
        X: images of shape [batch size, 785]
        targets: labels/targets of each image of shape: [batch size, 1]
        model: model of class BinaryModel
    Returns:
        Accuracy (float)
    """
    # a prediction is 1 when y_hat >= 0.5, else 0
    predictions = model.forward(X) >= 0.5
    return float(np.mean(predictions == (targets == 1)))


class LogisticTrainer(BaseTrainer):

    def train_step(self, X_batch: np.ndarray, Y_batch: np.ndarray):
        """
        Perform forward, backward and gradient descent step here.
        The function is called once for every batch (see trainer.py) to perform the train step.
        The function returns the mean loss value which is then automatically logged in our
        variable self.train_history.

        Args:
            X: one batch of images
            Y: one batch of labels
        Returns:
            loss value (float) on batch
        """
        outputs = self.model.forward(X_batch)
        loss = cross_entropy_loss(Y_batch, outputs)  # the loss before the update
        self.model.backward(X_batch, outputs, Y_batch)
        self.model.w -= self.learning_rate * self.model.grad
        return loss

    def validation_step(self):
        """
        Perform a validation step to evaluate the model at the current step for the validation set.
        Also calculates the current accuracy of the model on the train set.
        Returns:
            loss (float): cross entropy loss over the whole validation set
            accuracy_train (float): Accuracy on train dataset
            accuracy_val (float): Accuracy on the validation dataset
        """
        # NO NEED TO CHANGE THIS FUNCTION
        logits = self.model.forward(self.X_val)
        loss = cross_entropy_loss(self.Y_val, logits)

        accuracy_train = calculate_accuracy(
            self.X_train, self.Y_train, self.model)
        accuracy_val = calculate_accuracy(
            self.X_val, self.Y_val, self.model)
        return loss, accuracy_train, accuracy_val


if __name__ == "__main__":
    from task2a import pre_process_images

    # the starter loads MNIST's 2s and 3s here (utils.load_binary_dataset); random pixels
    # stand in for them so that the file runs on its own
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(1200, 784))
    targets = rng.integers(0, 2, size=(1200, 1)).astype(np.float64)
    X_train, X_val = pre_process_images(images[:1000]), pre_process_images(images[1000:])
    Y_train, Y_val = targets[:1000], targets[1000:]

    model = BinaryModel()
    trainer = LogisticTrainer(model, 0.05, 128, False, X_train, Y_train, X_val, Y_val)
    train_history, val_history = trainer.train(50)
    print("Final Train Cross Entropy Loss:",
          cross_entropy_loss(Y_train, model.forward(X_train)))
    print("Final Validation Cross Entropy Loss:",
          cross_entropy_loss(Y_val, model.forward(X_val)))
    print("Train accuracy:", calculate_accuracy(X_train, Y_train, model))
    print("Validation accuracy:", calculate_accuracy(X_val, Y_val, model))
