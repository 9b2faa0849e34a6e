"""Lockstep: every NumPy record held against what the Lightning reference just did.

Lightning's Trainer drives the run; the NumPy side
(:class:`compare.parity.numpy_side.NumpyProcess`, a child process) hands over its records in order.
:class:`ParityCallback` takes the next record at the matching hook and hands both sides' values to
:class:`Lockstep`:

* ``setup``: the NumPy side starts;
* ``on_train_start``: the initial parameters (bit-identical);
* ``on_train_batch_start``: the NumPy side is asked for the step;
* ``on_before_optimizer_step`` (gradients computed, parameters not yet updated): the step's
  batch X and Y (bit-identical), the step and the epoch, the learning rate, the batch's loss
  and cost J as the module logged them, and every ``param.grad``;
* ``on_train_batch_end``: every parameter after the update;
* after every validation, :meth:`Lockstep.validation` with the step and Lightning's
  ``callback_metrics`` (:data:`VALIDATION_KEYS`: ``val/loss``, ``val/cost``, ``val/acc``, and
  the whole training set's ``train/acc``, ``train/full_loss``, ``train/full_cost``): the NumPy side
  must have validated after the same update, with the same values. Lightning's own loop (the
  "epoch" rule) is compared at ``on_validation_end``; the "starter" rule
  (:class:`lightning_ref.callbacks.StarterValidation`, which runs after this callback's
  ``on_train_batch_end``) at the next hook, ``on_train_batch_start`` of the next step or
  ``on_train_end``;
* ``on_test_end``: the test metrics against the NumPy side's final weights on the test set.

The NumPy run gets the same tags at the same steps as the Lightning run: the curves of each
record, ``weights/squared_norm`` at every validation, ``epoch`` wherever Lightning writes it
(every update and the test log; :class:`lightning_ref.loggers.TextTensorBoardLogger` writes
it once per step), and the texts' figures (:mod:`lightning_ref.figures`) drawn from the NumPy
side's final weights by NumPy code (:meth:`Lockstep.templates`, :meth:`Lockstep.test`).

The NumPy side is asked for each update at ``on_train_batch_start`` at the latest and its answer
taken at ``on_before_optimizer_step``, so it computes the update while Lightning does; the batch
is compared by digest (:func:`compare.parity.numpy_side.batch_digest`). As soon as an update's
record is taken, the NumPy side is asked for its next record (:meth:`Lockstep.run_ahead`: its
validation of that update, its next update or its end), which it computes while the parent
compares and Lightning updates: the two sides overlap for the whole step, not only its first
half.

A paused run (:mod:`compare.parity.pause`) ends at a batch's start, where the NumPy side is asked
for its checkpoint instead of its next update (``Lockstep.kept``). It never pauses after a step
at which the NumPy side was asked ahead (``Lockstep.ran_ahead``), and nothing is asked ahead
once a pause is wanted (``Lockstep.may_run_ahead``), so both sides stop after the same update.
A resumed run starts by comparing the parameters both sides resume from (within the tolerance:
they are the resumed step's) and does not compare that step's validation again.

After ``fit``, :meth:`Lockstep.end` compares how training ended (last step, early-stopping
step, best step), the final (restored) parameters and their metrics on every part of the split.
A record the NumPy side could not produce (it raised, hung, exited) raises
:class:`compare.parity.numpy_side.NumpySideError` from the hook that asked for it.

Under DDP the NumPy side runs once, on rank 0: the ranks' shares of each batch are gathered
there, the gradients are DDP's averages and the logged losses are synced means, so rank 0
compares whole batches; at the end of every step rank 0 broadcasts its verdict and all ranks
stop together.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.utilities import rank_zero_only
from torch import Tensor
from torch.utils.tensorboard import summary as tb_summary

from compare.parity.findings import Mismatch, ParityError, ParityReport, QuantityStats
from compare.parity.numpy_side import (
    EndRecord,
    InitRecord,
    NumpyProcess,
    StateRecord,
    batch_digest,
)
from compare.tolerance import EXACT, Difference, difference, discrete_difference
from lightning_ref.callbacks import last_step, starter_validates
from lightning_ref.figures import HISTOGRAM_TAGS, TEMPLATES_TAG
from lightning_ref.loggers import EPOCH_TAG, TextTensorBoardLogger
from numpy_impl import functional as F
from numpy_impl.models import MODELS, UniformModel, class_templates
from numpy_impl.run.runfiles import new_version_dir
from numpy_impl.run.tensorboard import EventWriter, write_hparams
from numpy_impl.steps import StepRecord, ValidationRecord
from numpy_impl.texts import TEXTS

PARITY_TAG, PARITY_LOG10_TAG = "parity/max_rel_error", "parity/log10_max_rel_error"
#: The floor of the log10 curve: an exact step (error 0) is drawn at -18, below float64's
#: round-off (~1e-16), instead of at minus infinity.
PARITY_LOG10_FLOOR = -18.0
VALIDATION_KEYS = ("val/loss", "val/cost", "val/acc", "train/acc", "train/full_loss",
                   "train/full_cost")
TEST_KEYS = ("test/loss", "test/cost", "test/acc")



class Curves(Protocol):
    """Where a comparison's curves go (see :class:`ParityRuns`)."""

    def numpy(self, values: Mapping[str, float], step: int) -> None: ...

    def parity(self, max_rel_error: float, step: int) -> None: ...

    def numpy_images(self, tag: str, images: np.ndarray, step: int) -> None: ...

    def numpy_histogram(self, tag: str, values: np.ndarray, step: int) -> None: ...


SQUARED_NORM_TAG = "weights/squared_norm"


class Lockstep:
    """Takes the NumPy records in order and compares each with the Lightning values it is given.

    Every comparison updates the report's per-quantity maxima; the first element beyond the
    tolerance becomes a :class:`Mismatch`. With ``strict`` it raises :class:`ParityError` at
    once (under DDP the callback holds it and raises on every rank together); otherwise the run
    goes on and the report collects the first mismatch of each quantity. ``curves`` receives the
    NumPy side's curves (the Lightning reference logs its own) and the per-step max relative
    error.

    The flow's state: ``current``, the NumPy update matching the one Lightning is making,
    ``final``, the NumPy side's end record once taken (before Lightning's end if the NumPy side
    ended first: then nothing is left to compare step by step), and ``kept``, the NumPy side's
    checkpoint once a pause has taken it.
    """

    def __init__(self, numpy_run: NumpyProcess, report: ParityReport, strict: bool = True,
                 curves: Curves | None = None) -> None:
        self.numpy, self.report, self.strict = numpy_run, report, strict
        self.curves = curves
        self.set_sizes: dict[str, int] = {}  # images in "train", "val", "test" (set at setup)
        self.current: StepRecord | None = None
        self.final: EndRecord | None = None
        self.kept: StateRecord | None = None
        self.pausing = False  # set by a pause: at the next batch, take the checkpoint
        # False once a pause is wanted (ParityPause): nothing more is asked for ahead
        self.may_run_ahead: Callable[[], bool] = lambda: True
        self.ran_ahead = False  # the NumPy side was asked ahead during this update
        self._batch: tuple[int, int, tuple[Any, ...]] | None = None  # asked, not yet taken
        self._lightning_batch: tuple[np.ndarray, np.ndarray] | None = None
        self.last_epoch: int | None = None  # the epoch of the NumPy side's latest update
        self._step_error: dict[int, float] = {}  # per-step max rel error, until written

    # ------------------------------------------------------------------ comparing

    def check(self, step: int | None, epoch: int | None, quantity: str, numpy_value: Any,
              lightning_value: Any, tolerance: float | None = None,
              discrete: bool = False) -> Difference:
        """Compare one quantity; record its errors; a mismatch past the tolerance."""
        tol = EXACT if discrete else self.report.tolerance if tolerance is None else tolerance
        diff = (discrete_difference(numpy_value, lightning_value) if discrete
                else difference(numpy_value, lightning_value))
        self.report.quantities.setdefault(quantity, QuantityStats(tol)).add(
            step, diff.max_abs, diff.max_rel)
        if step is not None and self.final is None:  # a training step's, not the end's
            self._step_error[step] = max(self._step_error.get(step, 0.0), diff.max_rel)
        if diff.exceeds(tol) and all(m.quantity != quantity for m in self.report.mismatches):
            mismatch = Mismatch(step, epoch, quantity, diff.index, diff.numpy_value,
                                diff.lightning_value, diff.max_rel, tol)
            self.report.mismatches.append(mismatch)
            if self.strict:
                raise ParityError(mismatch, self.report)
        return diff

    def metric(self, step: int | None, epoch: int | None, quantity: str, numpy_value: float,
               lightning_value: float) -> None:
        """Compare a loss, cost or accuracy of a whole set. Accuracies are compared as numbers
        of correct predictions, exactly: the count is what both sides measure (in float32 an
        accuracy such as 13/25 is not the float64 one, while the count it stands for is)."""
        part = quantity.rpartition(" ")[2].partition("/")[0]
        if quantity.endswith("/acc") and part in self.set_sizes:
            n = self.set_sizes[part]
            self.check(step, epoch, quantity, _correct(numpy_value, n),
                       _correct(lightning_value, n), discrete=True)
        else:
            self.check(step, epoch, quantity, numpy_value, lightning_value)

    def initial(self, params: Mapping[str, np.ndarray]) -> None:
        """Both sides start from bit-identical parameters, with the same names; a resumed run
        from the parameters of the step it resumes after (within the tolerance, as when that
        step was compared)."""
        record = self.numpy.next()
        assert isinstance(record, InitRecord), f"expected the initial parameters, got {record}"
        self.check(record.step, None, "parameter names", sorted(record.params), sorted(params),
                   discrete=True)
        resumed = record.step is not None
        for name in (n for n in record.params if n in params):
            self.check(record.step, None, f"{'resumed' if resumed else 'init'} {name}",
                       record.params[name], params[name], None if resumed else EXACT)
        if resumed:  # the curve holds that step's error from before the pause
            self._step_error.pop(record.step, None)

    def batch(self, step: int, epoch: int, X: np.ndarray, Y: np.ndarray) -> None:
        """The start of update ``step``: the NumPy side is asked for its record of the same
        update, which it computes while Lightning does (taken in :meth:`before_update`); at a
        pause (``pausing``), for its checkpoint instead."""
        self.flush(before=step)
        self.current, self.ran_ahead = None, False
        if self.final is not None or self.kept is not None:
            return
        if self.pausing:
            self.kept = self.numpy.checkpoint()
            return
        self.numpy.ask()
        self._batch = (step, epoch, batch_digest(X, Y))
        self._lightning_batch = (X, Y)

    def before_update(self, step: int, epoch: int, lr: float, loss: float, cost: float,
                      grads: Mapping[str, np.ndarray]) -> None:
        """Gradients computed, parameters not yet updated: the NumPy side's record of the
        update taken and compared (the batch, the step, the epoch, the learning rate, the loss
        and cost, the gradients)."""
        record = self._take()
        if record is None:
            return
        self.run_ahead()
        self.check(step, epoch, "lr", record.lr, lr)
        self.check(step, epoch, "loss", record.loss, loss)
        self.check(step, epoch, "cost", record.cost, cost)
        for name in (n for n in record.grads if n in grads):
            self.check(step, epoch, f"grad {name}", record.grads[name], grads[name])

    def _take(self) -> StepRecord | None:
        """The NumPy side's record of the update begun at :meth:`batch`, its batch compared bit
        for bit (by digest; the arrays themselves only when the digests differ, to name the
        first element that differs)."""
        if self._batch is None:
            return self.current
        (step, epoch, digest), self._batch = self._batch, None
        self.current = record = self._next_step(step)
        if record is None:
            return None
        if record.X == digest:
            for quantity, mine, theirs in zip(("batch X", "batch Y"), record.X, digest,
                                              strict=True):
                self.check(step, epoch, quantity, mine, theirs, discrete=True)
        else:
            X, Y = self.numpy.batch()
            lightning_X, lightning_Y = self._lightning_batch
            self.check(step, epoch, "batch X", X, lightning_X, EXACT)
            self.check(step, epoch, "batch Y", Y, lightning_Y, EXACT)
        self.check(step, epoch, "step", record.step, step, discrete=True)
        self.check(step, epoch, "epoch", record.epoch, epoch, discrete=True)
        self.report.steps += 1
        self.last_epoch = record.epoch
        rates = self.report.summary.setdefault("learning rates", [])
        if not rates or rates[-1] != record.lr:
            rates.append(record.lr)
        if self.curves is not None:
            self.curves.numpy({"train/loss": record.loss, "train/cost": record.cost,
                               "lr": record.lr, EPOCH_TAG: record.epoch}, step)
        return record

    def run_ahead(self) -> None:
        """The record of this update is taken: ask the NumPy side for its next one now, so that
        it computes it while this one is compared and Lightning updates and goes on to its
        next batch (:meth:`batch`'s request is then already made). Not once a pause is wanted:
        the NumPy side must not be past the step both sides stop at (``ParityPause`` waits for a
        step at which nothing was asked ahead)."""
        if self.may_run_ahead():
            self.numpy.ask()
            self.ran_ahead = True

    def after_update(self, step: int, epoch: int, params: Mapping[str, np.ndarray]) -> None:
        """The parameters after update ``step``."""
        record = self._take()
        if record is None:
            return
        for name in (n for n in record.params if n in params):
            self.check(step, epoch, name, record.params[name], params[name])

    def validation_ahead(self) -> None:
        """The reference validates next: ask the NumPy side for its next record (its validation
        of the same update) now, so that it measures its sets while Lightning measures its own
        instead of after. Never a step ahead of the reference: a pause is never at an epoch's
        end, and a starter validation is taken at the next batch's start, before a pause asks
        for the checkpoint."""
        if self.final is None and self.kept is None:
            self.numpy.ask()

    def validation(self, step: int, metrics: Mapping[str, float]) -> None:
        """Lightning validated after update ``step``: so must the NumPy side, with the same
        values (``metrics``: Lightning's :data:`VALIDATION_KEYS`). The NumPy run also gets
        R(w) = ||w||^2 of the NumPy side's weights after that update (``weights/squared_norm``,
        as the reference logs it at every validation)."""
        if self.final is not None:
            return
        record = self.numpy.peek()
        if not (isinstance(record, ValidationRecord) and record.step == step):
            self.check(step, None, "validation", "no validation", f"validated at step {step}",
                       discrete=True)
            return
        self.numpy.next()
        self.report.validations += 1
        for key in VALIDATION_KEYS:
            self.metric(step, record.epoch, key, record.metrics[key],
                        metrics.get(key, float("nan")))
        if self.curves is not None:
            values = {key: record.metrics[key] for key in VALIDATION_KEYS}
            if self.current is not None and self.current.step == step:
                regularised = MODELS[self.numpy.exp.model].regularised
                values[SQUARED_NORM_TAG] = float(F.l2_penalty(self.current.params[regularised]))
            self.curves.numpy(values, step)

    def end(self, last_step: int | None, stopped_step: int | None, best_step: int | None,
            params: Mapping[str, np.ndarray], metrics: Mapping[str, float]) -> None:
        """After fit: how training ended, the final (restored) weights, their metrics."""
        self.flush()
        record = self.final or self._next_end(last_step, stopped_step)
        if record is None:
            return
        self.check(last_step, None, "last step", record.last_step, last_step, discrete=True)
        self.check(last_step, None, "stopped step", record.stopped_step, stopped_step,
                   discrete=True)
        if record.stopped_step is not None and stopped_step is not None:
            self.check(last_step, None, "best step", record.best_step, best_step, discrete=True)
        for name in (n for n in record.params if n in params):
            self.check(last_step, None, f"final {name}", record.params[name], params[name])
        final = {key: value for key, value in record.metrics.items()
                 if key in metrics and not key.startswith("test/")}  # test: Lightning's test loop
        for key, value in final.items():
            self.metric(last_step, None, f"final {key}", value, metrics[key])
        self.summary(record, last_step, stopped_step, best_step)
        self.report.summary["final metrics"] = {
            key: {"numpy": value, "lightning": metrics[key]} for key, value in final.items()}

    def test(self, step: int, metrics: Mapping[str, float],
             test_set: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Lightning's test loop (logged at ``step``) against the NumPy side's final weights on
        the test set. The NumPy run gets the test metrics, ``epoch`` (the epochs the NumPy side
        began, as Lightning's ``current_epoch`` after fit counts them) and, for DD2424 with
        ``test_set`` (X, Y), the ground-truth-class probability histograms of Exercise 2.2
        (:class:`lightning_ref.figures.GroundTruthHistograms`) from the NumPy model."""
        record = self.final
        if record is None:
            return
        values: dict[str, float] = {}
        for key in (k for k in TEST_KEYS if k in record.metrics):
            lightning_value = metrics.get(key, float("nan"))
            self.metric(record.last_step, None, key, record.metrics[key], lightning_value)
            self.report.summary.setdefault("final metrics", {})[key] = {
                "numpy": record.metrics[key], "lightning": lightning_value}
            values[key] = record.metrics[key]
        if self.curves is None:
            return
        if self.last_epoch is not None:
            values[EPOCH_TAG] = self.last_epoch + 1
        if values:
            self.curves.numpy(values, step)
        if test_set is not None and TEXTS[self.numpy.exp.text].probability_histograms:
            X, Y = test_set
            P = self._final_model(record).probabilities(X)  # (K, n)
            labels = Y.argmax(axis=0)
            p_true = P[labels, np.arange(labels.size)]
            correct = P.argmax(axis=0) == labels  # as the NumPy side's accuracy counts
            for is_correct, tag in HISTOGRAM_TAGS.items():
                if np.any(correct == is_correct):
                    self.curves.numpy_histogram(tag, p_true[correct == is_correct], step)

    def templates(self, image_shape: tuple[int, int, int], step: int) -> None:
        """After fit: the NumPy side's final (restored) weights as class-template images at
        ``step`` (:class:`lightning_ref.figures.ClassTemplates` draws the reference's)."""
        record = self.final
        if record is None or self.curves is None:
            return
        images = class_templates(self._final_model(record).class_weights(), image_shape)
        self.curves.numpy_images(TEMPLATES_TAG, images, step)

    def _final_model(self, record: EndRecord) -> UniformModel:
        exp = self.numpy.exp
        return MODELS[exp.model].numpy_class(exp.lam, params=dict(record.params))

    def summary(self, record: EndRecord, last_step: int | None, stopped_step: int | None,
                best_step: int | None) -> None:
        """How each side ended, for the report: {"numpy": ..., "lightning": ...} per item."""
        def count(last: int | None) -> int:
            return 0 if last is None else last + 1

        self.report.summary.update({
            "steps": {"numpy": count(record.last_step), "lightning": count(last_step)},
            "stopped_step": {"numpy": record.stopped_step, "lightning": stopped_step},
            "best_step": {"numpy": record.best_step if record.stopped_step is not None else None,
                          "lightning": best_step},
        })

    # ------------------------------------------------------------------ record bookkeeping

    def _next_past_validations(self) -> StepRecord | EndRecord:
        """The NumPy side's next record that is not a validation: here, where Lightning did not
        validate, every validation the NumPy side made is a mismatch."""
        record = self.numpy.next()
        while isinstance(record, ValidationRecord):
            self.check(record.step, record.epoch, "validation", f"validated at step {record.step}",
                       "no validation", discrete=True)
            record = self.numpy.next()
        return record

    def _next_step(self, step: int) -> StepRecord | None:
        """The NumPy side's next update; a validation it made that Lightning did not, or its
        end while Lightning trains on, is a mismatch."""
        record = self._next_past_validations()
        if isinstance(record, EndRecord):
            self.final = record
            quantity = "stopped step" if record.stopped_step is not None else "last step"
            value = record.stopped_step if record.stopped_step is not None else record.last_step
            self.check(step, None, quantity, value, f"training on at step {step}", discrete=True)
            return None
        assert isinstance(record, StepRecord), f"expected a step, got {record}"
        return record

    def _next_end(self, last_step: int | None, stopped_step: int | None) -> EndRecord | None:
        """The NumPy side's end record; an update it makes after Lightning ended is a mismatch."""
        record = self._next_past_validations()
        if isinstance(record, StepRecord):
            quantity = "stopped step" if stopped_step is not None else "last step"
            value = stopped_step if stopped_step is not None else last_step
            self.check(record.step, record.epoch, quantity, f"training on at step {record.step}",
                       value, discrete=True)
            return None
        assert isinstance(record, EndRecord), f"expected the end, got {record}"
        self.final = record
        return record

    def flush(self, before: int | None = None) -> None:
        """Write the max relative error of every finished step (all of them at the end)."""
        for step in sorted(self._step_error):
            if before is not None and step >= before:
                break
            error = self._step_error.pop(step)
            if self.curves is not None:
                self.curves.parity(error, step)


class ParityRuns:
    """The TensorBoard runs of one comparison, in a new ``log_dir/<experiment>/version_N/``:
    ``numpy`` and ``lightning`` hold the two sides' curves under the same tags (so TensorBoard
    draws each tag's two curves in one chart), and ``parity`` the largest relative error of
    every step (``parity/max_rel_error`` and, readable at ~1e-15, ``parity/log10_max_rel_error``).
    ``lightning`` is the TensorBoardLogger the Trainer writes through. Under DDP only rank 0
    writes (the other ranks' logger writes nothing, as Lightning's loggers do)."""

    def __init__(self, log_dir: str | Path, name: str, root: Path | None = None) -> None:
        if rank_zero_only.rank == 0:
            # a resumed comparison goes on in its own run folder, ``root``
            self.root = root or new_version_dir(Path(log_dir) / name)
            self._numpy, self._parity = EventWriter(self.root / "numpy"), EventWriter(
                self.root / "parity")
        else:
            self.root = Path(log_dir) / name / "not-rank-0"
        self.lightning = TextTensorBoardLogger(str(self.root), name="", version="lightning",
                                               default_hp_metric=False)

    @rank_zero_only
    def numpy(self, values: Mapping[str, float], step: int) -> None:
        self._numpy.scalars(values, step)

    @rank_zero_only
    def numpy_images(self, tag: str, images: np.ndarray, step: int) -> None:
        """Images (N, C, H, W) in [0, 1], encoded as Lightning's SummaryWriter.add_images
        encodes them (one grid, PNG), so both runs' images are laid out alike."""
        self._numpy.summary(tb_summary.image(tag, images, dataformats="NCHW"), step)

    @rank_zero_only
    def numpy_histogram(self, tag: str, values: np.ndarray, step: int) -> None:
        """A histogram as Lightning's SummaryWriter.add_histogram(bins="auto") makes it."""
        self._numpy.summary(tb_summary.histogram(tag, values, bins="auto"), step)

    @rank_zero_only
    def parity(self, max_rel_error: float, step: int) -> None:
        log10 = math.log10(max_rel_error) if max_rel_error > 0 else PARITY_LOG10_FLOOR
        self._parity.scalars({PARITY_TAG: max_rel_error,
                              PARITY_LOG10_TAG: max(log10, PARITY_LOG10_FLOOR)}, step)

    @rank_zero_only
    def close(self, hparams: Mapping[str, Any], metrics: list[str]) -> None:
        """The run's hyperparameters for the HParams view of both sides' runs, then close."""
        self._numpy.hparams(hparams, metrics)
        write_hparams(self.lightning.log_dir, hparams, metrics)
        self.lightning.finalize("success")
        for writer in (self._numpy, self._parity):
            writer.close()


def _correct(accuracy: float, n: int) -> str | float:
    """An accuracy of a set of n images as its number of correct predictions, 'k/n' (a
    non-finite accuracy stays a float, which never compares equal)."""
    return f"{round(accuracy * n)}/{n}" if np.isfinite(accuracy) else accuracy


def _numpy(tensors: Mapping[str, Tensor | None]) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in tensors.items() if v is not None}


class ParityCallback(Callback):
    """Lightning's side of the lockstep: hands each hook's values to :class:`Lockstep`."""

    def __init__(self, lockstep: Lockstep, resumed_after: int | None = None) -> None:
        self.lockstep = lockstep
        self.resumed_after = resumed_after  # the step a resumed run goes on from
        self.active = False  # True where the NumPy side runs: the only process, or rank 0
        self._error: BaseException | None = None  # under DDP: rank 0's, until the next _sync

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        self.active = trainer.is_global_zero
        self.lockstep.set_sizes = trainer.datamodule.split.sizes()
        if self.active:
            self.lockstep.report.summary["processes"] = trainer.world_size
            if trainer.logger is not None:  # the lightning run of a ParityRuns
                self.lockstep.report.log_dir = Path(trainer.logger.log_dir).parent
            self.lockstep.numpy.start()

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._call(trainer, self.lockstep.initial, _numpy(dict(pl_module.named_parameters())))

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                             batch: Any, batch_idx: int) -> None:
        self._starter_validation(trainer, pl_module)
        X, Y = batch
        if trainer.world_size > 1:  # each rank holds its share: put the whole batch together
            # along the sample axis, in the memory order of one process's batch (column-major
            # for columns), which the batch digest names
            axis = trainer.datamodule.axis
            X, Y = (torch.cat([part.movedim(axis, 0) for part in pl_module.all_gather(t)]
                              ).movedim(0, axis) for t in (X, Y))
        self._call(trainer, self.lockstep.batch, trainer.global_step, trainer.current_epoch,
                   X.detach().cpu().numpy(), Y.detach().cpu().numpy())

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                                 optimizer: torch.optim.Optimizer) -> None:
        logged = pl_module.step_values  # the module's train/loss and train/cost of this step
        if trainer.world_size > 1:  # each rank's is of its equal share: the batch's is the mean
            logged = {k: pl_module.all_gather(v).mean() for k, v in logged.items()}
        self._call(trainer, self.lockstep.before_update, trainer.global_step,
                   trainer.current_epoch, float(optimizer.param_groups[0]["lr"]),
                   float(logged["train/loss"]), float(logged["train/cost"]),
                   _numpy({n: p.grad for n, p in pl_module.named_parameters()}))

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        self._call(trainer, self.lockstep.after_update, last_step(trainer),
                   trainer.current_epoch, _numpy(dict(pl_module.named_parameters())))
        validation = getattr(pl_module, "validation", None)
        if ((validation == "epoch" and batch_idx + 1 == trainer.num_training_batches)
                or (validation == "starter" and starter_validates(trainer))):
            self._call(trainer, self.lockstep.validation_ahead)
        self._sync(trainer)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Lightning's own validation loop (the "epoch" rule), after update :func:`last_step`."""
        if not trainer.sanity_checking:
            self._call(trainer, self.lockstep.validation, last_step(trainer),
                       _metrics(trainer, VALIDATION_KEYS))

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._starter_validation(trainer, pl_module)
        self._sync(trainer)

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        split = trainer.datamodule.split
        test_set = None if split is None or split.X_test is None else (split.X_test,
                                                                       split.Y_test)
        self._call(trainer, self.lockstep.test, trainer.global_step,
                   _metrics(trainer, TEST_KEYS), test_set)

    def _starter_validation(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """The "starter" rule's validation after the last update, if it made one: StarterValidation
        measures it in its on_train_batch_end, which runs after this callback's, so it is
        compared at the next hook (the next batch's start, or the end of training), except
        the resumed step's, compared before the pause."""
        if (getattr(pl_module, "validation", None) == "starter" and trainer.global_step > 0
                and starter_validates(trainer)
                and last_step(trainer) != self.resumed_after):
            self._call(trainer, self.lockstep.validation, last_step(trainer),
                       _metrics(trainer, VALIDATION_KEYS))

    def _call(self, trainer: pl.Trainer, method: Callable[..., None], *args: Any) -> None:
        """Run a comparison where the NumPy side is; under DDP keep its failure for _sync."""
        if not self.active or self._error is not None:
            return
        try:
            method(*args)
        except Exception as error:
            if trainer.world_size == 1:
                raise
            self._error = error

    def _sync(self, trainer: pl.Trainer) -> None:
        """Under DDP: every rank learns rank 0's verdict and stops (or raises) with it."""
        lockstep = self.lockstep
        if trainer.world_size > 1:
            state = (lockstep.report.mismatch if lockstep.strict else None,
                     repr(self._error) if self._error else None, lockstep.final is not None)
            mismatch, error, numpy_ended = trainer.strategy.broadcast(state, src=0)
            if mismatch is not None:
                raise ParityError(mismatch, lockstep.report if self.active else None)
            if error is not None:
                if self._error is not None:
                    raise self._error
                raise RuntimeError(f"rank 0 failed: {error}")
        else:
            numpy_ended = lockstep.final is not None
        if numpy_ended:
            trainer.should_stop = True  # the NumPy side has ended: nothing left to compare


def _metrics(trainer: pl.Trainer, keys: tuple[str, ...]) -> dict[str, float]:
    """Those of ``keys`` that Lightning's last validation or test put in callback_metrics."""
    return {key: float(trainer.callback_metrics[key]) for key in keys
            if key in trainer.callback_metrics}
