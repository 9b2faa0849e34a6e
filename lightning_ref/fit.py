"""``python -m lightning_ref.fit [--config configs/...yaml] [--model.lam 0.1 ...]``.

LightningCLI over the experiment definitions in ``configs/``: ``--config`` selects one (default:
TDT4265 task 2b on the embedded MNIST subset) and every field can be overridden on the command
line (``--model.lam 0.1``, ``--trainer.max_epochs 5``, ``--data.root DIR``,
``--data.download true``, ``--trainer.accelerator gpu``, ``--trainer.strategy ddp
--trainer.devices 2``). It fits, tests where the split has a test set, and ends by printing
where the TensorBoard logs and the checkpoint are and the final metrics.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from jsonargparse import Namespace
from pytorch_lightning import Trainer
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.cli import ArgsType, LightningArgumentParser, LightningCLI
from pytorch_lightning.loggers import TensorBoardLogger

from lightning_ref.callbacks import RestoreBest, TextEarlyStopping
from lightning_ref.data import ExperimentDataModule
from lightning_ref.models import ParityModule
from numpy_impl.experiments import CONFIG_DIR, DEFAULT_EXPERIMENT

DEFAULT_CONFIG = CONFIG_DIR / f"{DEFAULT_EXPERIMENT}.yaml"
RUNS_DIR = Path("runs") / "lightning"
TRAINER_DEFAULTS = {
    "accelerator": "cpu",  # CPU unless asked: --trainer.accelerator gpu
    "default_root_dir": str(RUNS_DIR),  # also with --trainer.logger false: nothing in the cwd
    "precision": "64-true",
    "log_every_n_steps": 1,  # the texts plot the training loss of every step
}


def experiment_name(config_path: str | Path) -> str:
    """``configs/tdt4265/task2b.yaml`` -> ``tdt4265/task2b``; a file elsewhere -> its stem."""
    path = Path(config_path).resolve()
    if path.is_relative_to(CONFIG_DIR):
        return str(path.relative_to(CONFIG_DIR).with_suffix(""))
    return path.stem


class FitCLI(LightningCLI):
    """LightningCLI with the one seed linked to the data module's generator and a TensorBoard
    logger named after the experiment."""

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

    def parse_arguments(self, parser: LightningArgumentParser, args: ArgsType) -> None:
        # The command line (or ``args``) with the default experiment's config put first when it
        # names none, so that a bare ``python -m lightning_ref.fit`` runs task 2b.
        if isinstance(args, dict | Namespace):  # a whole config given as an object
            self.config = parser.parse_object(args)
            return
        self.config = parser.parse_args(with_default_config(sys.argv[1:] if args is None
                                                            else args))

    def before_instantiate_classes(self) -> None:
        config = self.config
        if config.trainer.logger in (None, True):  # Lightning's default logger, renamed
            configs = config.get("config") or [DEFAULT_CONFIG]
            config.trainer.logger = Namespace(
                class_path="pytorch_lightning.loggers.TensorBoardLogger",
                init_args=Namespace(save_dir=str(RUNS_DIR), name=experiment_name(configs[-1]),
                                    default_hp_metric=False))


def lightning_validation_batches(validation: str) -> float:
    """``trainer.limit_val_batches`` for a model's validation rule: 0 for the "starter" rule,
    which validates from a callback, all (1.0) for the per-epoch rule."""
    return 0 if validation == "starter" else 1.0


def with_default_config(args: Sequence[str]) -> list[str]:
    """Prepend ``--config <task2b>`` unless the arguments choose a config themselves."""
    args = list(args)
    chosen = any(a in ("--config", "-c") or a.startswith("--config=") for a in args)
    return args if chosen else ["--config", str(DEFAULT_CONFIG), *args]


def main(args: ArgsType = None) -> dict[str, float]:
    """Fit (and test) one experiment; returns the final metrics."""
    cli = FitCLI(
        ParityModule, ExperimentDataModule, subclass_mode_model=True, run=False,
        args=args,
        seed_everything_default=0, trainer_defaults=TRAINER_DEFAULTS,
        auto_configure_optimizers=False,  # plain SGD and the texts' decay, from the model
        save_config_kwargs={"overwrite": True},
    )
    trainer, model, datamodule = cli.trainer, cli.model, cli.datamodule
    trainer.fit(model, datamodule=datamodule)
    if datamodule.has_test:
        trainer.test(model, datamodule=datamodule, verbose=False)
    metrics = final_metrics(model, datamodule)
    if trainer.is_global_zero:
        print(summary(trainer, metrics))
    return metrics


def final_metrics(model: ParityModule, datamodule: ExperimentDataModule) -> dict[str, float]:
    """Loss, cost and accuracy of the final (or restored best) weights on every part."""
    return {f"{part}/{name}": float(value)
            for part, tensors in datamodule.tensors.items()
            for name, value in model.evaluate(*tensors).items()}


def summary(trainer: Trainer, metrics: dict[str, float]) -> str:
    """Where the logs and the checkpoint are, how training ended, and the final metrics."""
    lines = []
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            lines.append(f"TensorBoard logs: {logger.log_dir}  (view: tensorboard --logdir "
                         f"{logger.log_dir})")
    checkpoints = [cb for cb in trainer.callbacks if isinstance(cb, ModelCheckpoint)]
    for cb in checkpoints:
        if cb.best_model_path:
            kind = f"best {cb.monitor}" if cb.monitor else "last"
            lines.append(f"checkpoint ({kind}): {cb.best_model_path}")
    for cb in trainer.callbacks:
        if isinstance(cb, TextEarlyStopping):
            lines.append(
                f"early stopping: stopped at epoch {cb.stopped_epoch}, step {cb.stopped_step}"
                if cb.stopped_step is not None else "early stopping: did not trigger")
        if isinstance(cb, RestoreBest) and cb.best_step is not None:
            lines.append(f"restored the weights of the lowest val/loss (epoch {cb.best_epoch}, "
                         f"step {cb.best_step})")
    lines.append("final metrics: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
