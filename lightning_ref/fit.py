"""``python -m lightning_ref.fit [EXPERIMENT | --config configs/...yaml] [--model.lam 0.1 ...]``.

LightningCLI over the experiment definitions in ``configs/``: a name (``tdt4265/task3b``), a YAML
path or ``--config`` selects one (default: TDT4265 task 2b on the embedded MNIST subset) and
every field can be overridden on the command line (``--model.lam 0.1``,
``--trainer.max_epochs 5``, ``--data.root DIR``, ``--data.download true``,
``--trainer.accelerator gpu``, ``--trainer.strategy ddp --trainer.devices 2``). The command line
is first checked against the one schema (:mod:`numpy_impl.run.schema`), so a bad value gets the
same one line and exit code 2 as on ``python -m numpy_impl`` and ``python -m compare``. It
fits, tests where the split has a test set, and ends by printing where the TensorBoard logs and
the checkpoints (the best and ``last.ckpt``, the final weights) are and the final metrics,
saying which weights they belong to. ``--ckpt_path PATH`` (or ``--resume``: the ``last.ckpt``
of the experiment's latest run) continues a run, in its own log folder, exactly as if it had
never stopped; SIGINT or SIGTERM saves the last completed step as ``last.ckpt``
(:mod:`lightning_ref.resume`), prints how to resume and exits 130 or 143. :func:`build` is the
same parse and instantiation without the fit, for ``compare``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jsonargparse import ArgumentParser

from numpy_impl.run.schema import (
    ExperimentError,
    Resuming,
    asks_for_help,
    experiment_parser,
    parse_command_line,
    report,
    section_help,
)

SHORT_HELP = """\
usage: python -m lightning_ref.fit [EXPERIMENT | --config PATH] [FLAGS]

Fit one experiment of configs/ with the Lightning reference (LightningCLI): a
name such as tdt4265/task3b or a YAML path (default: tdt4265/task2b on the
embedded MNIST subset); the run's TensorBoard logs and checkpoints go to
runs/lightning/<experiment>/version_N/.

  -h, --help             this help
  --help-all             LightningCLI's full help (every Trainer option)
  --print_config         the resolved configuration, as YAML
  --ckpt_path PATH       continue the run saved in this checkpoint (its
                         last.ckpt after an interruption), logging into the
                         run's own folder
  --resume               --ckpt_path the last.ckpt of this experiment's latest
                         run
  --no-progress          no progress bar (off a terminal there is none: one
                         line per epoch instead; --trainer.enable_progress_bar
                         true draws it anyway)"""

#: What fit's --ckpt_path and --resume name (the parser factory is the other CLIs').
RESUMING = Resuming("PATH", "continue the run saved in this checkpoint (its last.ckpt after an "
                    "interruption), logging into the run's own folder",
                    "--ckpt_path the last.ckpt of this experiment's latest run")


def fit_parser() -> ArgumentParser:
    """fit's own options, from the parser factory every CLI uses: the experiment, --ckpt_path,
    --resume, and LightningCLI's whole-section configs (--trainer FILE, --data FILE), which
    LightningCLI reads; the experiment's flags are split off first (``split_argv``), and the
    help options (--help, --help-all, --print_config) go to LightningCLI before this parser."""
    parser = experiment_parser("python -m lightning_ref.fit", "Fit one experiment of "
                               "configs/ with the Lightning reference.",
                               "a name such as tdt4265/task3b", RESUMING)
    for section in ("trainer", "data"):
        parser.add_argument(f"--{section}", type=str | None, default=None, metavar="FILE",
                            help=f"the {section} section from a YAML file (LightningCLI's)")
    return parser


def lightning_spelling(argv: Sequence[str]) -> list[str]:
    """fit's own spellings as LightningCLI knows them: ``--no-progress`` is
    ``--trainer.enable_progress_bar false``, ``--help-all`` is LightningCLI's ``--help``."""
    out: list[str] = []
    for arg in argv:
        out += {"--no-progress": ["--trainer.enable_progress_bar", "false"],
                "--help-all": ["--help"]}.get(arg, [arg])
    return out


if __name__ == "__main__" and any(a in ("-h", "--help") for a in sys.argv[1:]):
    # the project's options at once, before torch and Lightning load (seconds)
    print(SHORT_HELP + "\n\n" + section_help())
    sys.exit(0)
if __name__ == "__main__" and not asks_for_help(lightning_spelling(sys.argv[1:])):
    # a mistake on the command line is named at once, before torch and Lightning load
    try:
        parse_command_line(fit_parser(), lightning_spelling(sys.argv[1:]))
    except ExperimentError as _err:
        sys.exit(report(_err))

import pytorch_lightning as pl
from jsonargparse import Namespace
from pytorch_lightning import Trainer
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.cli import (
    ArgsType,
    LightningArgumentParser,
    LightningCLI,
    SaveConfigCallback,
)
from pytorch_lightning.loggers import TensorBoardLogger

from lightning_ref.callbacks import RestoreBest, StopOnDivergence, TextEarlyStopping, last_step
from lightning_ref.data import ExperimentDataModule
from lightning_ref.models import ParityModule
from lightning_ref.quiet import PROGRESS_METRICS, EpochLines, TextProgressBar, quiet_lightning
from lightning_ref.resume import LAST, AtomicCheckpointIO, LastCheckpoint
from numpy_impl.run import runfiles
from numpy_impl.run.experiments import (
    CONFIG_DIR,
    DEFAULT_EXPERIMENT,
    Experiment,
    experiment_name,
    load_experiment,
    resolve,
)
from numpy_impl.run.interrupt import Interrupted, resume_command
from numpy_impl.run.schema import (
    check_batch_size,
    experiment_source,
    not_allowed,
    user_errors,
)
from numpy_impl.run.tensorboard import write_hparams
from numpy_impl.run.terminal import draws_bars
from numpy_impl.run.threads import configure_threads
from numpy_impl.run.train import HPARAM_METRICS, hparams_of

DEFAULT_CONFIG = CONFIG_DIR / f"{DEFAULT_EXPERIMENT}.yaml"
RUNS_DIR = runfiles.RUNS_DIR / "lightning"
TRAINER_DEFAULTS = {
    "accelerator": "cpu",  # CPU unless asked: --trainer.accelerator gpu
    "default_root_dir": str(RUNS_DIR),  # also with --trainer.logger false: nothing in the cwd
    "precision": "64-true",
    "log_every_n_steps": 1,  # the texts plot the training loss of every step
    "enable_model_summary": False,  # a summary of three parameterless metric modules
}


#: The progress bar redraws after every this many steps (and at an epoch's last): a redraw
#: costs ~0.3-1 ms (tqdm's formatting and write, Lightning's metrics), about a step of these
#: models; ten a second or more at these sizes still reads as continuous.
BAR_REFRESH_STEPS = 10


def step_loss(pl_module: pl.LightningModule) -> dict[str, float]:
    """``{"train/loss": the last step's loss}`` from the module's ``step_values`` (the module
    writes it to the loggers itself, so Lightning's progress-bar metrics do not hold it)."""
    values = getattr(pl_module, "step_values", {})
    return {"train/loss": float(values["train/loss"])} if "train/loss" in values else {}


class StepLossBar(TextProgressBar):
    """The CLI's progress bar: the epoch, the last step's ``train/loss`` and the latest
    ``val/acc`` (:class:`lightning_ref.quiet.TextProgressBar`)."""

    def get_metrics(self, trainer: Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
        return {**step_loss(pl_module), **super().get_metrics(trainer, pl_module)}


class StepLossLines(EpochLines):
    """The CLI's line per epoch where there is no terminal
    (:class:`lightning_ref.quiet.EpochLines`), with the last step's ``train/loss``."""

    def on_train_epoch_end(self, trainer: Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
        metrics = {**step_loss(pl_module), **trainer.progress_bar_metrics}
        shown = [f"{k} {float(v):.4f}" for k, v in metrics.items() if k in PROGRESS_METRICS]
        print(f"Epoch {trainer.current_epoch}: {done}/{trainer.num_training_batches} steps"
              + "".join(f", {s}" for s in shown), flush=True)


class BatchSizeCheck(Callback):
    """Refuses a batch larger than the training set once the data module has loaded its split
    and before the first update, with the message every CLI gives
    (:func:`numpy_impl.run.schema.check_batch_size`); ``where`` names the flag or file field."""

    def __init__(self, where: str = "data.batch_size") -> None:
        self.where = where

    def setup(self, trainer: Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        datamodule = trainer.datamodule
        if stage == "fit" and datamodule is not None and "train" in datamodule.tensors:
            n_train = datamodule.tensors["train"][0].shape[datamodule.axis]
            check_batch_size(datamodule.batch_size, n_train, self.where)


class FitCLI(LightningCLI):
    """LightningCLI with the one seed linked to the data module's generator, a TensorBoard
    logger named after the experiment, the command line checked against the one schema first
    and, for :func:`build`'s callers, Trainer arguments that replace the config's."""

    def __init__(self, *args: Any, trainer_overrides: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        self.experiment: Experiment | None = None  # set by parse_arguments from the schema
        self.trainer_overrides = trainer_overrides or {}
        super().__init__(*args, **kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # One seed fixes everything random (numpy_impl.draws): the initial weights, each
        # epoch's permutation and flips. Lightning's seed_everything also seeds torch.
        parser.link_arguments("seed_everything", "data.seed")
        # The one precision sets the data's dtype, and with it the parameters'.
        parser.link_arguments("trainer.precision", "data.precision")
        # The model is given what it needs: its initial parameters, drawn by the data module
        # from the run's one generator (K, d and the dtype come with them).
        parser.link_arguments("data.initial_parameters", "model.init_args.initial_parameters",
                              apply_on="instantiate")
        # The starter cadence validates itself (lightning_ref.callbacks says why): Lightning's
        # own validation loop runs only for the per-epoch rule.
        parser.link_arguments("model.init_args.validation", "trainer.limit_val_batches",
                              compute_fn=lightning_validation_batches)
        parser.add_argument("--ckpt_path", type=str | None, default=None,
                            help="continue the run saved in this checkpoint (trainer.fit's "
                                 "ckpt_path)")

    def parse_arguments(self, parser: LightningArgumentParser, args: ArgsType | Experiment
                        ) -> None:
        # An Experiment (already checked), a whole config given as an object, or a command line
        # that the schema checks before LightningCLI parses it (with the experiment named by a
        # positional turned into --config, and task 2b's config when it names none).
        if isinstance(args, Experiment):
            self.experiment = args
            self.config = parser.parse_object(args.config)
            return
        if isinstance(args, dict | Namespace):
            self.config = parser.parse_object(args)
            return
        argv = list(sys.argv[1:] if args is None else args)
        if any(a in ("-h", "--help") for a in argv):  # the project's options, not 480 lines
            print(SHORT_HELP + "\n\n" + section_help())
            sys.exit(0)
        argv = lightning_spelling(argv)
        if asks_for_help(argv):
            self.config = parser.parse_args(with_default_config(argv))
            return
        try:
            self.experiment, argv = checked_arguments(argv)
        except user_errors() as err:
            sys.exit(report(err))
        self.config = parser.parse_args(argv)

    def before_instantiate_classes(self) -> None:
        config = self.config
        if config.trainer.logger in (None, True):  # Lightning's default logger, renamed
            # (and writing ``epoch`` once per step: lightning_ref.loggers)
            name = (self.experiment.name if self.experiment is not None
                    else experiment_name((config.get("config") or [DEFAULT_CONFIG])[-1]))
            # under trainer.default_root_dir (runs/lightning unless given), where the
            # checkpoints of a run without a logger go too
            where = dict(save_dir=str(config.trainer.get("default_root_dir") or RUNS_DIR),
                         name=name)
            run_dir = checkpoint_run_dir(config.get("ckpt_path"))
            if run_dir is not None:  # a resumed run goes on in its own folder (see there)
                where = dict(save_dir=str(run_dir.parent), name="", version=run_dir.name)
            config.trainer.logger = Namespace(
                class_path="lightning_ref.loggers.TextTensorBoardLogger",
                init_args=Namespace(**where, default_hp_metric=False))
        where = (self.experiment.origins["data.batch_size"] if self.experiment is not None
                 else "data.batch_size")
        callbacks: list[Callback] = [BatchSizeCheck(where), StopOnDivergence()]
        bar = self.trainer_overrides.get("enable_progress_bar",
                                         config.trainer.get("enable_progress_bar"))
        if bar is None:  # not asked: a bar on a terminal, one line per epoch elsewhere
            bar = draws_bars(sys.stdout)  # Lightning's bar writes to stdout
            if not bar:
                config.trainer.enable_progress_bar = False
                callbacks.append(StepLossLines())
        if bar:
            callbacks.append(StepLossBar(refresh_rate=BAR_REFRESH_STEPS))
        self.trainer_defaults = {**self.trainer_defaults, "callbacks": callbacks}

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        if self.config.trainer.get("plugins") is None:  # checkpoints written atomically
            kwargs["plugins"] = [AtomicCheckpointIO()]
        return super().instantiate_trainer(**{**self.trainer_overrides, **kwargs})


def checkpoint_run_dir(ckpt_path: str | None) -> Path | None:
    """The run folder (``.../version_N``) that holds a checkpoint in its ``checkpoints/``, None
    for a checkpoint elsewhere. A resumed run logs there again: TensorBoard shows one run, and
    ModelCheckpoint keeps its best only when the folder is the same string as when it was saved
    (relative to the working directory, as the CLI saves it)."""
    if ckpt_path is None:
        return None
    folder = Path(ckpt_path).parent
    if folder.name != "checkpoints" or not _VERSION.fullmatch(folder.parent.name):
        return None
    run_dir = folder.parent
    relative = os.path.relpath(run_dir.absolute())
    return run_dir if relative.startswith("..") else Path(relative)


_VERSION = re.compile(r"version_\d+")


def latest_last_checkpoint(name: str, root: str | Path | None = None) -> Path:
    """``last.ckpt`` of the experiment's latest run under ``root`` (trainer.default_root_dir;
    None: runs/lightning) that has one (``--resume``)."""
    parent = Path(root or RUNS_DIR) / name
    run = runfiles.latest_version(parent, f"checkpoints/{LAST}")
    if run is None:
        raise ExperimentError(f"--resume: no run of {name} to resume (no "
                              f"{parent}/version_N/checkpoints/{LAST})")
    return run / "checkpoints" / LAST


def checked_arguments(argv: Sequence[str]) -> tuple[Experiment, list[str]]:
    """The experiment a command line names, checked against the schema, and the command line
    for LightningCLI: ``--config FILE`` first, then the flags as given."""
    options, parts = parse_command_line(fit_parser(), argv)
    path = resolve(experiment_source([options.experiment] if options.experiment else [],
                                     parts.configs, DEFAULT_EXPERIMENT))
    experiment = load_experiment(path, parts.overrides, parts.flags)
    root = experiment.config.get("trainer", {}).get("default_root_dir")
    ckpt_path = (str(latest_last_checkpoint(experiment.name, root)) if options.resume
                 else options.ckpt_path)
    if ckpt_path is not None and not Path(ckpt_path).is_file():
        raise not_allowed("--ckpt_path", ckpt_path, "no such checkpoint file")
    passed = [arg for section in ("trainer", "data") if options[section] is not None
              for arg in (f"--{section}", options[section])]
    if ckpt_path is not None:
        passed += ["--ckpt_path", ckpt_path]
    return experiment, ["--config", str(path), *parts.section_args, *passed]


def lightning_validation_batches(validation: str) -> float:
    """``trainer.limit_val_batches`` for a model's validation rule: 0 for the "starter" rule,
    which validates from a callback, all (1.0) for the per-epoch rule."""
    return 0 if validation == "starter" else 1.0


def with_default_config(args: Sequence[str]) -> list[str]:
    """The experiment named by a first positional argument as ``--config FILE`` (LightningCLI
    takes no positional), else ``--config <task2b>`` unless the arguments choose a config
    themselves."""
    args = list(args)
    if args and not args[0].startswith("-"):
        return ["--config", str(resolve(args[0])), *args[1:]]
    chosen = any(a in ("--config", "-c") or a.startswith("--config=") for a in args)
    return args if chosen else ["--config", str(DEFAULT_CONFIG), *args]


def build(args: ArgsType | Experiment = None, save_config: bool = True,
          **trainer_overrides: Any) -> FitCLI:
    """LightningCLI's parse and instantiation of one experiment, without fitting: a command line
    (default ``sys.argv[1:]``), a config object or an :class:`Experiment`.
    ``trainer_overrides`` replace Trainer arguments (``compare`` adds its callbacks, logger and
    ``max_steps``); ``save_config`` writes the parsed config next to the logs."""
    return FitCLI(
        ParityModule, ExperimentDataModule, subclass_mode_model=True, run=False,
        args=args, trainer_overrides=trainer_overrides,
        seed_everything_default=0, trainer_defaults=TRAINER_DEFAULTS,
        auto_configure_optimizers=False,  # plain SGD and the texts' decay, from the model
        save_config_callback=SaveConfigCallback if save_config else None,
        save_config_kwargs={"overwrite": True},
    )


def main(args: ArgsType = None) -> dict[str, float]:
    """Fit (and test) one experiment; returns the final metrics. A user's mistake exits with
    one line on stderr: code 2 for the command line or config, 4 for missing or unsafe data;
    SIGINT or SIGTERM with one line saying where the run's checkpoint and logs are and how to
    resume it, and 130 or 143."""
    quiet_lightning()
    configure_threads()
    last = LastCheckpoint()
    try:
        with last.interruptible():
            cli = build(args)
            trainer, model, datamodule = cli.trainer, cli.model, cli.datamodule
            trainer.callbacks.append(last)
            trainer.fit(model, datamodule=datamodule, ckpt_path=cli.config.get("ckpt_path"))
            if datamodule.has_test:
                trainer.test(model, datamodule=datamodule, verbose=False)
    except user_errors() as err:
        sys.exit(report(err))
    except Interrupted as stop:
        print(interruption_report(stop, sys.argv[1:] if args is None else args),
              file=sys.stderr)
        sys.exit(stop.exit_code)
    metrics = final_metrics(model, datamodule)
    if trainer.is_global_zero:
        if cli.experiment is not None:  # the HParams view: this run's settings and metrics
            for logger in trainer.loggers:
                if isinstance(logger, TensorBoardLogger):
                    write_hparams(logger.log_dir, hparams_of(cli.experiment),
                                  [m for m in HPARAM_METRICS if m in metrics])
        print(summary(trainer, metrics, last))
    return metrics


def interruption_report(stop: Interrupted, argv: ArgsType) -> str:
    """One line: which signal, the checkpoint and logs it left, and the command that resumes."""
    head = f"interrupted by {stop}"
    if stop.checkpoint is None:
        return f"{head} before any step was saved: nothing to resume"
    command = resume_command("lightning_ref.fit", list(argv or []), stop.checkpoint)
    return (f"{head} after step {stop.step}: checkpoint {stop.checkpoint}, logs "
            f"{stop.checkpoint.parent.parent}; resume with: {command}")


def final_metrics(model: ParityModule, datamodule: ExperimentDataModule) -> dict[str, float]:
    """Loss, cost and accuracy of the final (or restored best) weights on every part."""
    return {f"{part}/{name}": float(value)
            for part, tensors in datamodule.tensors.items()
            for name, value in model.evaluate(*tensors).items()}


def summary(trainer: Trainer, metrics: dict[str, float], last: LastCheckpoint) -> str:
    """Where the logs and the checkpoints are, how training ended, and the final metrics with
    the weights they belong to."""
    lines = []
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            lines.append(f"TensorBoard logs: {logger.log_dir}\n  view: "
                         f"{runfiles.tensorboard_command(logger.log_dir)}")
    checkpoints = [cb for cb in trainer.callbacks if isinstance(cb, ModelCheckpoint)]
    for cb in checkpoints:
        if cb.best_model_path:
            kind = f"best {cb.monitor}" if cb.monitor else "last"
            lines.append(f"checkpoint ({kind}): {cb.best_model_path}")
    lines.append(f"final weights: {last.path}")
    weights = f"the weights after the last step, {last_step(trainer)}"
    for cb in trainer.callbacks:
        if isinstance(cb, TextEarlyStopping):
            lines.append(
                f"early stopping: stopped at epoch {cb.stopped_epoch}, step {cb.stopped_step}"
                if cb.stopped_step is not None else "early stopping: did not trigger")
        if isinstance(cb, RestoreBest) and cb.best_step is not None:
            weights = (f"the weights restored from step {cb.best_step} (epoch {cb.best_epoch}), "
                       "the lowest val/loss")
    lines.append(f"final metrics ({weights}): "
                 + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
