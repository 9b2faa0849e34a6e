"""The four models of the two texts as LightningModules, with autograd in place of the NumPy
side's hand-written gradients.

Each module holds exactly the NumPy model's parameters, by the same names, shapes and
orientation (``w`` (785, K) for TDT4265; ``W`` (K, d) and ``b`` (K, 1) for DD2424), as its
record in :data:`numpy_impl.models.MODELS` gives them. They are created in ``__init__`` from the
``initial_parameters`` it is given (LightningCLI links them from the data module, which draws
them from its one generator with :func:`numpy_impl.draws.initial_parameters`), in their dtype,
so both sides start bit-identical. ``training_step`` returns the
cost J = data loss + lam * R (R = sum of squared weights, no 1/2), so autograd's gradient holds
the texts' ``2 * lam * W`` and the optimizer is plain SGD (no momentum, no weight decay).

A batch is ``(X, Y)`` in the split's layout: ``"rows"`` (TDT4265: X (B, 785), Y (B, 1) or
(B, 10)) or ``"columns"`` (DD2424: X (d, B), Y (K, B)).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.callbacks import Callback
from torch import Tensor, nn

from lightning_ref.loggers import StepLogs
from numpy_impl.models import MODELS as RECORDS
from numpy_impl.run.schema import Validation

Batch = tuple[Tensor, Tensor]


class ParityModule(pl.LightningModule):
    """What the four models share: parameters from the NumPy initialisation, the cost J, SGD
    with the texts' learning-rate decay, and one evaluation of a whole set for every stage.

    Args:
        lr: the learning rate eta.
        lam: the L2 strength lambda in J = loss + lambda * R.
        validation: ``"starter"`` (TDT4265: after the update at step s whenever
            s % (batches_per_epoch // 5) == 0) or ``"epoch"`` (DD2424: after every epoch).
        early_stopping_patience: stop after this many validations without a lower validation
            loss and restore the weights of the lowest one (TDT4265 task 2d); None: never.
        lr_step_epochs: divide eta by 10 after every this many epochs (DD2424 2.1d).
        lr_plateau_patience: divide eta by 10 when the validation cost has not improved for more
            than this many epochs (DD2424 2.1d).
        initial_parameters: the NumPy side's initial parameters, by name (the data module's
            ``initial_parameters``; LightningCLI links them). None only for
            ``load_from_checkpoint``, which takes them from the checkpoint.
    """

    def __init__(self, lr: float, lam: float = 0.0, validation: Validation = "epoch",
                 early_stopping_patience: int | None = None, lr_step_epochs: int | None = None,
                 lr_plateau_patience: int | None = None,
                 initial_parameters: dict[str, Any] | None = None) -> None:
        super().__init__()
        if validation not in ("starter", "epoch"):
            raise ValueError(f"validation is {validation!r}; expected 'starter' or 'epoch'")
        if lr_step_epochs is not None and lr_plateau_patience is not None:
            raise ValueError("choose one of lr_step_epochs and lr_plateau_patience")
        self.save_hyperparameters(ignore=["initial_parameters"])
        self.record = RECORDS[type(self).__name__]
        self.lr, self.lam = float(lr), float(lam)
        self.validation = validation
        self.early_stopping_patience = early_stopping_patience
        self.lr_step_epochs, self.lr_plateau_patience = lr_step_epochs, lr_plateau_patience
        self.step_values: dict[str, Tensor] = {}  # the last training step's loss and cost
        self.step_logs = StepLogs()  # the steps' train/loss, train/cost and lr, until written
        if initial_parameters is not None:
            self.initialize(initial_parameters)

    # ------------------------------------------------------------------ what each model defines

    def forward(self, X: Tensor) -> Tensor:
        """The scores (logits) of every sample, in the model's layout."""
        raise NotImplementedError

    def data_loss(self, scores: Tensor, Y: Tensor) -> Tensor:
        """The data loss averaged over the batch (eq. 3, 5 or 14 of the texts)."""
        raise NotImplementedError

    def penalty(self) -> Tensor:
        """R, the sum of the squared regularised weights."""
        raise NotImplementedError

    def predictions(self, scores: Tensor) -> Tensor:
        """Predicted labels, in the shape of :meth:`labels` (the accuracy compares the two)."""
        raise NotImplementedError

    def labels(self, Y: Tensor) -> Tensor:
        """The targets as labels."""
        raise NotImplementedError

    def class_weights(self) -> Tensor:
        """One row of image weights per class (bias excluded), for the class-template images."""
        raise NotImplementedError

    # ------------------------------------------------------------------ parameters

    def check_parameters(self, params: Mapping[str, np.ndarray]) -> None:
        """Refuse parameters this model cannot hold: other names (the other text's layout) or
        another number of outputs (the binary model has one, the others one per class)."""
        name = type(self).__name__
        if set(params) != set(self.record.param_shapes(1, 1)):
            raise ValueError(f"{name} holds the parameters {sorted(self.record.param_shapes(1, 1))}"
                             f" ({self.record.text.upper()}'s splits), got {sorted(params)}")

    def initialize(self, params: Mapping[str, np.ndarray]) -> None:
        """Create the parameters (copies of ``params``: same names, shapes and dtype)."""
        self.check_parameters(params)
        for name, value in params.items():
            self.register_parameter(name, nn.Parameter(torch.tensor(np.asarray(value))))

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # load_from_checkpoint builds the module without initial parameters: take their
        # names, shapes and dtype from the checkpoint.
        if not self._parameters:
            self.initialize({k: v.cpu().numpy() for k, v in checkpoint["state_dict"].items()})

    # ------------------------------------------------------------------ cost and evaluation

    def loss_and_cost(self, X: Tensor, Y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(data loss, cost J = loss + lam * R, scores) of a batch (TDT4265 eq. 9, DD2424 eq. 5)."""
        scores = self(X)
        loss = self.data_loss(scores, Y)
        return loss, loss + self.lam * self.penalty(), scores

    def cost(self, X: Tensor, Y: Tensor) -> Tensor:
        """J of a batch: what training minimises and autograd differentiates."""
        return self.loss_and_cost(X, Y)[1]

    @torch.no_grad()
    def evaluate(self, X: Tensor, Y: Tensor) -> dict[str, Tensor]:
        """``{"loss", "cost", "acc"}`` of a whole set: the accuracy is the share of correct
        predictions, in the model's dtype (a count over the set's size, exact in float64)."""
        X, Y = X.to(self.device), Y.to(self.device)
        loss, cost, scores = self.loss_and_cost(X, Y)
        acc = (self.predictions(scores) == self.labels(Y)).to(scores.dtype).mean()
        return {"loss": loss, "cost": cost, "acc": acc}

    def validation_metrics(self, val: Batch, train: Batch) -> dict[str, Tensor]:
        """One validation as the texts define it: loss, cost and accuracy of the whole
        validation set, and the accuracy (TDT4265 2c, DD2424 Fig. 3), loss and cost (DD2424
        1.8's curves after each epoch) of the whole training set."""
        metrics = self.evaluate(*val)
        return {**{f"val/{k}": v for k, v in metrics.items()},
                **self.training_set_metrics(train),
                "weights/squared_norm": self.squared_norm()}

    def training_set_metrics(self, train: Batch) -> dict[str, Tensor]:
        """``train/acc``, ``train/full_loss`` and ``train/full_cost`` of the whole training set,
        from one forward pass (``train/loss`` is the batch loss of every step)."""
        metrics = self.evaluate(*train)
        return {"train/acc": metrics["acc"], "train/full_loss": metrics["loss"],
                "train/full_cost": metrics["cost"]}

    @torch.no_grad()
    def squared_norm(self) -> Tensor:
        """R(w) = ||w||^2 of the regularised weights (TDT4265 task 4e), logged at every
        validation."""
        return self.penalty()

    # ------------------------------------------------------------------ Lightning hooks

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        X, Y = batch
        loss, cost, _ = self.loss_and_cost(X, Y)
        lr = self.trainer.optimizers[0].param_groups[0]["lr"]
        # this step's values, for callbacks that read them before the update (compare's
        # lockstep, StopOnDivergence, the progress bar), however they are logged
        self.step_values = {"train/loss": loss.detach(), "train/cost": cost.detach()}
        # The texts plot the training loss of every step, and compare overlays the learning
        # rate step for step. Lightning's self.log costs ~1-2 ms a key and step (its
        # ResultCollection, then one logger write and flush per step), about a DD2424 step:
        # one process keeps the step's values (lightning_ref.loggers.StepLogs) and
        # callbacks.WriteStepLogs writes them to the loggers at each validation, epoch end
        # and end of training, at the same steps and with the same values and ``epoch`` as
        # Lightning's logger connector would have.
        if self.logs_steps_through_lightning():
            logged = {"on_step": True, "on_epoch": False, "batch_size": 1,
                      "sync_dist": self.trainer.world_size > 1}
            self.log("train/loss", loss, prog_bar=True, **logged)
            self.log_dict({"train/cost": cost, "lr": float(lr)}, **logged)
        elif self.trainer.loggers:
            self.step_logs.open(self.trainer.global_step, self.trainer.current_epoch,
                                self.step_values["train/loss"], self.step_values["train/cost"],
                                float(lr))
        return cost

    def logs_steps_through_lightning(self) -> bool:
        """Whether ``training_step`` logs its metrics with Lightning's ``self.log`` (under DDP,
        where they are the means over the ranks, synced by Lightning) rather than keeping them
        for :class:`~lightning_ref.callbacks.WriteStepLogs`."""
        return self.trainer.world_size > 1

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # After every callback's on_train_batch_end, where Lightning's logger connector writes
        # the step's metrics: the step is logged if Lightning would log it (log_every_n_steps,
        # or training stops after it, or a fast_dev_run).
        trainer = self.trainer
        self.step_logs.close(trainer.global_step % trainer.log_every_n_steps == 0
                             or trainer.should_stop or bool(trainer.fast_dev_run))

    def validation_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        # Lightning's own validation loop, the "epoch" rule (the "starter" rule validates from
        # callbacks.StarterValidation): the data module's val_dataloader gives the whole
        # validation set (dataloader 0) and the whole training set (dataloader 1).
        if dataloader_idx == 0:
            metrics = {**{f"val/{k}": v for k, v in self.evaluate(*batch).items()},
                       "weights/squared_norm": self.squared_norm()}
        else:
            metrics = self.training_set_metrics(batch)
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True,
                      batch_size=1, add_dataloader_idx=False)

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        metrics = self.evaluate(*batch)
        self.log_dict({f"test/{k}": v for k, v in metrics.items()}, on_step=False,
                      on_epoch=True, sync_dist=True, batch_size=1)

    def configure_optimizers(self) -> Any:
        # Plain SGD, eq. 8-9: the L2 term is part of J, so no weight_decay (which would add
        # lam * W, not 2 * lam * W, and would also reach b).
        optimizer = torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.0, weight_decay=0.0)
        if self.lr_step_epochs is not None:  # eta / 10 after every lr_step_epochs epochs
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, self.lr_step_epochs, gamma=0.1)
            return {"optimizer": optimizer,
                    "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}
        if self.lr_plateau_patience is not None:  # eta / 10 when the validation cost plateaus
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="min", factor=0.1, patience=self.lr_plateau_patience,
                threshold=0.0, cooldown=0)
            return {"optimizer": optimizer, "lr_scheduler": {
                "scheduler": scheduler, "interval": "epoch", "monitor": "val/cost"}}
        return optimizer

    def configure_callbacks(self) -> list[Callback]:
        # The validation cadence, early stopping and best-weight restore follow from the
        # model's init args (each text's rules), so the module contributes them.
        from lightning_ref.callbacks import WriteStepLogs, validation_callbacks
        from lightning_ref.figures import ClassTemplates

        return [WriteStepLogs(),
                *validation_callbacks(self.validation, self.early_stopping_patience),
                ClassTemplates()]


class _TDT4265(ParityModule):
    """TDT4265: one row per image, ``z = X @ w`` with w (785, K), zero initialisation."""


    def forward(self, X: Tensor) -> Tensor:
        return X @ self.w

    def penalty(self) -> Tensor:
        # eq. 10: R(w) = ||w||^2 over every weight, the bias row included
        return torch.sum(self.w * self.w)

    def class_weights(self) -> Tensor:
        return self.w[:-1].T  # the bias is the last input (the starter code's bias trick)


class TDT4265Binary(_TDT4265):
    """Task 2: logistic regression (eq. 1-3), w (785, 1); Y (B, 1) with 1 for a "2"."""

    def data_loss(self, scores: Tensor, Y: Tensor) -> Tensor:
        # eq. 3 from the logits: -(y ln f + (1 - y) ln(1 - f)) with f = sigmoid(z), stably
        return F.binary_cross_entropy_with_logits(scores, Y)

    def predictions(self, scores: Tensor) -> Tensor:
        # Task 2c: predict 1 when y_hat >= 0.5 (zero weights give y_hat = 0.5: a 1)
        return (torch.sigmoid(scores) >= 0.5).long()

    def labels(self, Y: Tensor) -> Tensor:
        return Y.long()

    def check_parameters(self, params: Mapping[str, np.ndarray]) -> None:
        super().check_parameters(params)
        if params["w"].shape[1] != 1:
            raise ValueError("TDT4265Binary needs the 0/1 targets of data.split tdt4265_binary "
                             f"(one output), got w of shape {params['w'].shape}")


class TDT4265Softmax(_TDT4265):
    """Tasks 3-4: softmax regression (eq. 4-5), w (785, 10), J = C + lam ||w||^2 (eq. 9-10)."""

    def check_parameters(self, params: Mapping[str, np.ndarray]) -> None:
        super().check_parameters(params)
        if params["w"].shape[1] < 2:
            raise ValueError("TDT4265Softmax needs the one-hot targets of data.split tdt4265, "
                             f"got w of shape {params['w'].shape}")

    def data_loss(self, scores: Tensor, Y: Tensor) -> Tensor:
        # eq. 5: mean over the batch of -sum_k y_k ln y_hat_k, through log_softmax
        return -(Y * F.log_softmax(scores, dim=1)).sum(dim=1).mean()

    def predictions(self, scores: Tensor) -> Tensor:
        return scores.argmax(dim=1)

    def labels(self, Y: Tensor) -> Tensor:
        return Y.argmax(dim=1)


class _DD2424(ParityModule):
    """DD2424: one column per image, ``S = W X + b`` (eq. 1), W (K, d) drawn before b = 0."""


    def forward(self, X: Tensor) -> Tensor:
        return self.W @ X + self.b

    def penalty(self) -> Tensor:
        # eq. 5: lambda * sum_ij W_ij^2; b is not regularised
        return torch.sum(self.W * self.W)

    def predictions(self, scores: Tensor) -> Tensor:
        return scores.argmax(dim=0)  # eq. 4

    def labels(self, Y: Tensor) -> Tensor:
        return Y.argmax(dim=0)

    def class_weights(self) -> Tensor:
        return self.W

    def probabilities(self, scores: Tensor) -> Tensor:
        """p for every column: eq. 2 (softmax) or eq. 13 (sigmoid)."""
        raise NotImplementedError

    def configure_callbacks(self) -> list[Callback]:
        from lightning_ref.figures import GroundTruthHistograms

        return [*super().configure_callbacks(), GroundTruthHistograms()]


class DD2424Softmax(_DD2424):
    """Exercise 1: p = SOFTMAX(W x + b) (eq. 1-3), cross-entropy + lam ||W||^2 (eq. 5-6)."""

    def data_loss(self, scores: Tensor, Y: Tensor) -> Tensor:
        # eq. 5-6: mean over the columns of -log p_y, through log_softmax
        return -(Y * F.log_softmax(scores, dim=0)).sum(dim=0).mean()

    def probabilities(self, scores: Tensor) -> Tensor:
        return torch.softmax(scores, dim=0)


class DD2424MultiBCE(_DD2424):
    """Exercise 2.2: p = sigmoid(W x + b) (eq. 12-13), multiple binary cross-entropy (eq. 14)
    + lam ||W||^2."""

    def data_loss(self, scores: Tensor, Y: Tensor) -> Tensor:
        # eq. 14: -(1/K) sum_k [(1 - y_k) log(1 - p_k) + y_k log p_k] per column (a mean over
        # the K classes), then the mean over the batch; log-sigmoids from the logits, stably
        terms = F.binary_cross_entropy_with_logits(scores, Y, reduction="none")
        return terms.mean(dim=0).mean()

    def probabilities(self, scores: Tensor) -> Tensor:
        return torch.sigmoid(scores)


#: The LightningModule of every model record (numpy_impl.models.MODELS), by name.
MODELS: dict[str, type[ParityModule]] = {
    name: globals()[record.lightning_class.rpartition(".")[2]]
    for name, record in RECORDS.items()
}
