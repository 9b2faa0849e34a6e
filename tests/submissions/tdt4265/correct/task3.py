"""Task 3: training softmax regression on the ten digits."""
import numpy as np
from task3a import SoftmaxModel, cross_entropy_loss
from trainer import BaseTrainer


def calculate_accuracy(X: np.ndarray, targets: np.ndarray, model: SoftmaxModel) -> float:
    """
    Args:
        X: images of shape [batch size, 785]
        targets: labels/targets of each image of shape: [batch size, 10]
        model: model of class SoftmaxModel
    Returns:
        Accuracy (float)
    """
    # the predicted class is the most probable one
    predictions = model.forward(X).argmax(axis=1)
    return float(np.mean(predictions == targets.argmax(axis=1)))


class SoftmaxTrainer(BaseTrainer):

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
    from task3a import one_hot_encode

    # the starter loads MNIST here (utils.load_full_mnist); random pixels stand in for it so
    # that the file runs on its own
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(1200, 784))
    labels = rng.integers(0, 10, size=(1200, 1))
    X_train, X_val = pre_process_images(images[:1000]), pre_process_images(images[1000:])
    Y_train, Y_val = one_hot_encode(labels[:1000], 10), one_hot_encode(labels[1000:], 10)

    model = SoftmaxModel(l2_reg_lambda=0.0)
    trainer = SoftmaxTrainer(model, 0.01, 128, True, X_train, Y_train, X_val, Y_val)
    train_history, val_history = trainer.train(50)
    print("Final Train Cross Entropy Loss:",
          cross_entropy_loss(Y_train, model.forward(X_train)))
    print("Final Validation Cross Entropy Loss:",
          cross_entropy_loss(Y_val, model.forward(X_val)))
    print("Final Train accuracy:", calculate_accuracy(X_train, Y_train, model))
    print("Final Validation accuracy:", calculate_accuracy(X_val, Y_val, model))
