"""The 2022 starter's trainer.py, its early stopping (task 2d) filled in by the student.

The starter's shape (its lines, comments and `num_steps_per_val = num_batches_per_epoch // 5`)
as in the 2022 TDT4265 starter code (TDT4265_StarterCode, assignment1/trainer.py; seen in
student forks such as Eeaeau/TDT4265_StarterCode); only what the tests need is copied.
"""
import numpy as np
import utils


class BaseTrainer:

    def __init__(
            self,
            model,
            learning_rate: float,
            batch_size: int,
            shuffle_dataset: bool,
            X_train: np.ndarray,
            Y_train: np.ndarray,
            X_val: np.ndarray,
            Y_val: np.ndarray,
    ) -> None:
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

    def validation_step(self):
        """
        Perform a validation step to evaluate the model at the current step for the validation set.
        Also calculates the current accuracy of the model on the train set.
        """
        pass

    def train_step(self):
        """
            Perform forward, backward and gradient descent step here.
        """
        pass

    def train(self, num_epochs: int):
        """
        Training loop for model.
        Implements stochastic gradient descent with num_epochs passes over the train dataset.
        Returns:
            train_history: a dictionary containing loss and accuracy over all training steps
            val_history: a dictionary containing loss and accuracy over a selected set of steps
        """
        # Utility variables
        num_batches_per_epoch = self.X_train.shape[0] // self.batch_size
        num_steps_per_val = num_batches_per_epoch // 5
        # A tracking value of loss over all training steps
        train_history = dict(loss={}, accuracy={})
        val_history = dict(loss={}, accuracy={})

        # the student's early stopping (task 2d)
        best_loss = np.inf
        best_w = None
        without_improvement = 0

        global_step = 0
        for epoch in range(num_epochs):
            train_loader = utils.batch_loader(
                self.X_train,
                self.Y_train,
                self.batch_size,
                shuffle=self.shuffle_dataset,
            )
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

                    # TODO (Task 2d): Implement early stopping here.
                    if val_loss < best_loss:
                        best_loss = val_loss
                        best_w = self.model.w.copy()
                        without_improvement = 0
                    else:
                        without_improvement += 1
                    if without_improvement >= 10:
                        self.model.w = best_w
                        self.stopped_epoch = epoch
                        return train_history, val_history

                global_step += 1
        return train_history, val_history
