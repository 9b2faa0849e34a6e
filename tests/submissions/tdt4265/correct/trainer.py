"""The starter code's BaseTrainer, with early stopping (task 2d) and a seeded shuffle."""
import numpy as np
import utils


class BaseTrainer:

    def __init__(
            self,
            model,
            learning_rate: float,
            batch_size: int,
            shuffle_dataset: bool,
            X_train: np.ndarray, Y_train: np.ndarray,
            X_val: np.ndarray, Y_val: np.ndarray,) -> None:
        """
            Initialize the trainer responsible for performing the gradient descent loop.
        """
        self.X_train = X_train
        self.Y_train = Y_train
        self.X_val = X_val
        self.Y_val = Y_val
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.model = model
        self.shuffle_dataset = shuffle_dataset
        # task 2d: stop after this many validations without a lower validation loss
        self.early_stopping_patience = 10
        self.rng = np.random.default_rng(0)
        self.stopped_epoch = None  # the epoch early stopping ended, if it did

    def validation_step(self):
        """
        Perform a validation step to evaluate the model at the current step for the validation set.
        Also calculates the current accuracy of the model on the train set.
        Returns:
            loss (float): cross entropy loss over the whole validation set
            accuracy_train (float): Accuracy on train dataset
            accuracy_val (float): Accuracy on the validation dataset
        """
        raise NotImplementedError

    def train_step(self, X_batch: np.ndarray, Y_batch: np.ndarray):
        """
            Perform forward, backward and gradient descent step here.
        Args:
            X: one batch of images
            Y: one batch of labels
        Returns:
            loss value (float) on batch
        """
        raise NotImplementedError

    def train(
            self,
            num_epochs: int):
        """
        Training loop for model.
        Implements stochastic gradient descent with num_epochs passes over the train dataset.
        Returns:
            train_history: dict with the training loss at every step and the training accuracy
                at every validation
            val_history: dict with the validation loss and accuracy at every validation
        """
        # Utility variables
        num_batches_per_epoch = self.X_train.shape[0] // self.batch_size
        num_steps_per_val = max(1, num_batches_per_epoch // 5)
        # A tracking value of loss over all training steps
        train_history = dict(
            loss={},
            accuracy={}
        )
        val_history = dict(
            loss={},
            accuracy={}
        )
        # early stopping: the lowest validation loss so far and the weights that had it
        best_val_loss = np.inf
        best_w = None
        validations_without_improvement = 0

        global_step = 0
        for epoch in range(num_epochs):
            train_loader = utils.batch_loader(
                self.X_train, self.Y_train, self.batch_size, shuffle=self.shuffle_dataset,
                rng=self.rng)
            for X_batch, Y_batch in iter(train_loader):
                loss = self.train_step(X_batch, Y_batch)
                # Track training loss continuously
                train_history["loss"][global_step] = loss

                # Track validation loss / accuracy every time we progress 20% through the dataset
                if global_step % num_steps_per_val == 0:
                    val_loss, accuracy_train, accuracy_val = self.validation_step()
                    train_history["accuracy"][global_step] = accuracy_train
                    val_history["loss"][global_step] = val_loss
                    val_history["accuracy"][global_step] = accuracy_val

                    if val_loss < best_val_loss:
                        best_val_loss = val_loss
                        best_w = self.model.w.copy()
                        validations_without_improvement = 0
                    else:
                        validations_without_improvement += 1
                    if validations_without_improvement >= self.early_stopping_patience:
                        if best_w is not None:
                            self.model.w = best_w
                        self.stopped_epoch = epoch
                        return train_history, val_history
                global_step += 1
        return train_history, val_history
