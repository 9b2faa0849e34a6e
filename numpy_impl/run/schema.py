"""The one schema of an experiment, shared by every command line.

``python -m numpy_impl``, ``python -m lightning_ref.fit`` (LightningCLI) and ``python -m compare``
take the same experiment (a name such as ``tdt4265/task3b``, a YAML path, or ``--config PATH``)
and the same dotted flags (``--model.lam 0.1``, ``--data.batch_size 50``,
``--trainer.max_epochs 5``, ``--seed_everything 7``), and refuse the same bad values with the
same one line (:func:`not_allowed`) and exit code 2 before anything is trained. This module
holds what they share: the allowed values (``typing.Literal`` aliases, which
``lightning_ref``'s signatures import, so LightningCLI's types are these), the typed sections
(:class:`ModelSchema`, :class:`DataSchema`, :class:`TrainerSchema`) with each field's rule, the
checking of one value against its field (:func:`check_field`), the split of a command line
into the experiment's flags and a CLI's own options (:func:`split_argv`,
:func:`parse_command_line`, a jsonargparse parser for the own options) and the mapping of an
error to its one line and exit code (:func:`report`).

Pure Python: no torch, no Lightning (the Trainer's argument names are listed here and a test
holds the list against ``pytorch_lightning.Trainer``).
"""

from __future__ import annotations

import argparse
import sys
import types
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml
from jsonargparse import ArgumentParser, DefaultHelpFormatter, Namespace

from numpy_impl.errors import ExperimentError
from numpy_impl.run.exits import ExitCode
from numpy_impl.run.terminal import wrap_lines

#: The experiment every CLI runs when the command line names none (task 2b on the embedded
#: MNIST subset).
DEFAULT_EXPERIMENT = "tdt4265/task2b"

# The names of numpy_impl.models.MODELS, spelled out because a Literal must be static (and the
# schema stays free of the models' imports); tests/test_models.py holds the two equal.
ModelName = Literal["TDT4265Binary", "TDT4265Softmax", "DD2424Softmax", "DD2424MultiBCE"]
Validation = Literal["starter", "epoch"]
SplitName = Literal["tdt4265", "tdt4265_binary", "dd2424", "dd2424_all"]
DatasetName = Literal["mnist", "cifar10"]
Precision = Literal["64-true", "64", "32-true", "32"]
Backend = Literal["numpy", "torchvision"]

MODEL_NAMES: tuple[str, ...] = get_args(ModelName)
VALIDATION_RULES: tuple[str, ...] = get_args(Validation)
SPLITS: tuple[str, ...] = get_args(SplitName)
DATASETS: tuple[str, ...] = get_args(DatasetName)
BACKENDS: tuple[str, ...] = get_args(Backend)
PRECISIONS: dict[str, str] = {"64-true": "float64", "64": "float64", "32-true": "float32",
                              "32": "float32"}
SECTIONS = ("seed_everything", "model", "data", "trainer")

# The parameters of pytorch_lightning.Trainer.__init__ (tests/test_schema.py holds this list
# against the installed Lightning): every CLI accepts them under ``trainer.``; the NumPy side
# uses max_epochs and precision and ignores the rest, which only Lightning has a use for.
TRAINER_ARGUMENTS = frozenset({
    "accelerator", "strategy", "devices", "num_nodes", "precision", "logger", "callbacks",
    "fast_dev_run", "max_epochs", "min_epochs", "max_steps", "min_steps", "max_time",
    "limit_train_batches", "limit_val_batches", "limit_test_batches", "limit_predict_batches",
    "overfit_batches", "val_check_interval", "check_val_every_n_epoch", "num_sanity_val_steps",
    "log_every_n_steps", "enable_checkpointing", "enable_progress_bar", "enable_model_summary",
    "accumulate_grad_batches", "gradient_clip_val", "gradient_clip_algorithm", "deterministic",
    "benchmark", "inference_mode", "use_distributed_sampler", "profiler", "detect_anomaly",
    "barebones", "plugins", "sync_batchnorm", "reload_dataloaders_every_n_epochs",
    "default_root_dir", "enable_autolog_hparams", "model_registry",
})


def show(value: Any) -> str:
    """A value as the user would write it in YAML or on the command line, on one line."""
    if value is None or isinstance(value, bool):
        return yaml.safe_dump(value).split("\n")[0]
    text = repr(value) if isinstance(value, str) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def not_allowed(where: str, value: Any, allowed: str) -> ExperimentError:
    """The one wording of a refused value, on every CLI: ``WHERE: VALUE is not allowed:
    ALLOWED``, where WHERE is the flag (``--model.lam``) or the file and field
    (``configs/x.yaml: model.lam``)."""
    return ExperimentError(f"{where}: {show(value)} is not allowed: {allowed}")


Rule = tuple[Callable[[Any], bool], str]


def rule(test: Callable[[Any], bool], allowed: str, default: Any = MISSING) -> Any:
    """A dataclass field whose value (when not null) must pass ``test``; ``allowed`` says what
    passes, in the error message."""
    return field(default=default, metadata={"rule": (test, allowed)})


@dataclass(frozen=True)
class ModelSchema:
    """``model.init_args``: the arguments of every model (lightning_ref.models.ParityModule)."""

    lr: float = rule(lambda v: v > 0, "the learning rate must be > 0")
    lam: float = rule(lambda v: v >= 0, "lambda must be >= 0", 0.0)
    validation: Validation = "epoch"
    early_stopping_patience: int | None = rule(lambda v: v >= 0, "a patience must be >= 0 "
                                               "(or null: no early stopping)", None)
    lr_step_epochs: int | None = rule(lambda v: v >= 1, "the step-decay period must be >= 1 "
                                      "epoch (or null: no step decay)", None)
    lr_plateau_patience: int | None = rule(lambda v: v >= 0, "a patience must be >= 0 (or "
                                           "null: no plateau decay)", None)


@dataclass(frozen=True)
class DataSchema:
    """``data``: the arguments of lightning_ref.data.ExperimentDataModule (the seed comes from
    ``seed_everything``)."""

    dataset: DatasetName
    split: SplitName
    batch_size: int = rule(lambda v: v >= 1, "the batch size must be >= 1")
    root: str | None = None
    download: bool = False
    shuffle: bool = False
    flip: bool = False
    val_size: int = rule(lambda v: v >= 1, "the validation set must hold >= 1 image", 1000)
    backend: Backend = "numpy"


@dataclass(frozen=True)
class TrainerSchema:
    """``trainer``: the Trainer arguments both sides use; any other Trainer argument
    (:data:`TRAINER_ARGUMENTS`) is Lightning's alone."""

    max_epochs: int = rule(lambda v: v >= 1, "the number of epochs must be >= 1 (the texts "
                           "always give one; -1, Lightning's 'forever', is refused)")
    precision: Precision = "64-true"


SCHEMAS: dict[str, type] = {"model": ModelSchema, "data": DataSchema, "trainer": TrainerSchema}


def schema_fields(section: str) -> dict[str, tuple[Any, Any, Rule | None]]:
    """``{name: (type, default or MISSING, rule or None)}`` of a section's typed fields."""
    schema = SCHEMAS[section]
    hints = get_type_hints(schema)
    return {f.name: (hints[f.name], f.default, f.metadata.get("rule")) for f in fields(schema)}


def check_field(where: str, hint: Any, value: Any, field_rule: Rule | None = None) -> Any:
    """``value`` converted to the field's type ``hint`` and checked against its rule; an
    :class:`ExperimentError` naming ``where``, the value and what is allowed otherwise."""
    if get_origin(hint) in (Union, types.UnionType):
        if value is None:
            return None
        (hint,) = (arg for arg in get_args(hint) if arg is not type(None))
    converted = _convert(where, hint, value)
    if field_rule is not None and not field_rule[0](converted):
        raise not_allowed(where, value, field_rule[1])
    return converted


def _convert(where: str, hint: Any, value: Any) -> Any:
    if get_origin(hint) is Literal:
        choices = get_args(hint)
        if not isinstance(value, bool) and str(value) in choices:
            return str(value)
        raise not_allowed(where, value, "expected one of " + ", ".join(choices))
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise not_allowed(where, value, "expected true or false")
    if hint is str:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        raise not_allowed(where, value, "expected a string")
    expected = {int: "an integer", float: "a number"}[hint]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise not_allowed(where, value, f"expected {expected}")
    try:
        converted = hint(value)
    except ValueError:
        raise not_allowed(where, value, f"expected {expected}") from None
    if hint is int and isinstance(value, float):  # int(1.5) would silently drop the .5
        raise not_allowed(where, value, f"expected {expected}")
    return converted


def check_batch_size(batch_size: int, n_train: int, where: str) -> None:
    """Refuse a batch larger than the training set (it would give no update at all); checked
    once the split is loaded, before any training, by every side."""
    if batch_size > n_train:
        raise not_allowed(where, batch_size, f"the batch size must be at most the training "
                          f"set's size ({n_train} images)")


# ----------------------------------------------------------------------------- command lines


@dataclass
class ExperimentArgs:
    """A command line split into the experiment's part and the rest.

    Attributes:
        configs: every ``--config PATH`` / ``-c PATH``.
        overrides: ``{"model.lam": 0.1, "model.class_path": "X", ...}``, values read as YAML
            scalars (``null``, ``true``, numbers), keys in the file's spelling
            (``--model.init_args.lam`` and ``--model X`` included).
        flags: each override's flag as written (``--model.init_args.lam``), for messages.
        section_args: the tokens of those flags, as given (for LightningCLI's own parse).
        rest: everything else: positionals and the CLI's own options.
    """

    configs: list[str] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)
    section_args: list[str] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)


HELP_FLAGS = ("-h", "--help", "--print_config")


def asks_for_help(argv: Sequence[str]) -> bool:
    """Whether the command line asks for help (``--help``, ``--model.help X``,
    ``--print_config``) rather than a run."""
    return any(a.split("=")[0] in HELP_FLAGS or a.split("=")[0].endswith(".help") for a in argv)


def split_argv(argv: Sequence[str]) -> ExperimentArgs:
    """Separate the experiment's flags (``--config``, ``--model``, ``--seed_everything`` and every
    dotted ``--SECTION.FIELD``) from the rest; a flag without its value is an error."""
    out = ExperimentArgs()
    tokens = iter(argv)
    for arg in tokens:
        flag, eq, value = arg.partition("=")
        name = flag.removeprefix("--")
        is_config = flag in ("--config", "-c")
        ours = flag.startswith("--") and (
            is_config or name in ("model", "seed_everything")
            or ("." in name and not name.endswith(".help")))
        if not ours:
            out.rest.append(arg)
            continue
        if not eq:
            value = next(tokens, None)
            if value is None:
                raise ExperimentError(f"{flag}: needs a value")
        if is_config:
            out.configs.append(value)
            continue
        key = {"model": "model.class_path"}.get(name, name.replace(".init_args.", ".", 1))
        out.overrides[key] = yaml_scalar(value)
        out.flags[key] = flag
        out.section_args += [flag, value]
    return out


def yaml_scalar(text: str) -> Any:
    """A command-line value read as YAML reads a scalar (``null``, ``true``, ``0.1``); text that
    is not valid YAML stays text."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def experiment_source(positionals: Sequence[str], configs: Sequence[str],
                      default: str) -> str:
    """The one experiment a command line names: a positional name or path, or ``--config``;
    ``default`` when it names none. Naming two is an error."""
    chosen = [*positionals, *configs]
    if len(chosen) > 1:
        raise not_allowed("--config" if configs else "EXPERIMENT", chosen[-1],
                          f"one experiment per run (already {show(chosen[0])})")
    return chosen[0] if chosen else default


class HelpFormatter(DefaultHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """jsonargparse's help, with the epilog (:func:`section_help`, a table) kept as written."""


def section_help() -> str:
    """The experiment's flags, from the schema, for a CLI's ``--help``."""
    lines = ["experiment flags (the same on python -m numpy_impl, python -m lightning_ref.fit "
             "and python -m compare; they override the experiment's YAML file):",
             "  --config PATH          an experiment file (or give its name or path as the "
             "first argument)",
             "  --model NAME           " + " | ".join(MODEL_NAMES),
             "  --seed_everything INT  the one seed"]
    for section in SCHEMAS:
        for name, (hint, default, field_rule) in schema_fields(section).items():
            kind = (" | ".join(get_args(hint)) if get_origin(hint) is Literal
                    else getattr(hint, "__name__", str(hint)))
            about = f"{kind}" + ("" if default is MISSING else f", default {show(default)}")
            if field_rule is not None:
                about += f"; {field_rule[1]}"
            lines.append(f"  --{section}.{name}  {about}")
    lines.append("  --trainer.ARG          any other pytorch_lightning.Trainer argument (used "
                 "by Lightning only)")
    return wrap_lines("\n".join(lines))


@dataclass(frozen=True)
class Resuming:
    """What a CLI's ``--ckpt_path`` names (``metavar``, ``checkpoint``: its help) and what its
    ``--resume`` takes (``latest``)."""

    metavar: str
    checkpoint: str
    latest: str


def experiment_parser(prog: str, description: str, examples: str,
                      resuming: Resuming | None = None) -> ArgumentParser:
    """A CLI's parser with the experiment as its first argument (``examples``: what it may
    name), the schema's flags in its help and, with ``resuming``, the shared ``--ckpt_path``
    and ``--resume`` (:func:`parse_command_line` refuses the two together); the CLI adds its
    own options."""
    parser = ArgumentParser(prog=prog, exit_on_error=False, epilog=section_help(),
                            formatter_class=HelpFormatter, description=wrap_lines(description))
    parser.add_argument("experiment", nargs="?", default=None,
                        help=f"{examples}, or a YAML path; without it and without --config: "
                        f"{DEFAULT_EXPERIMENT}")
    if resuming is not None:
        parser.add_argument("--ckpt_path", type=str | None, default=None,
                            metavar=resuming.metavar, help=resuming.checkpoint)
        parser.add_argument("--resume", action="store_true", help=resuming.latest)
    return parser


def parse_command_line(parser: ArgumentParser, argv: Sequence[str] | None
                       ) -> tuple[Namespace, ExperimentArgs]:
    """Split ``argv`` (default ``sys.argv[1:]``) and parse its rest with ``parser`` (a CLI's own
    options and its optional positional ``experiment``); ``--help`` prints and exits 0, a
    mistake raises :class:`ExperimentError` with one line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parts = split_argv(argv)
    try:
        options = parser.parse_args(parts.rest)
    except Exception as err:  # jsonargparse's ArgumentError, several lines long
        raise ExperimentError(" ".join(str(err).split())) from None
    if options.get("resume") and options.get("ckpt_path") is not None:  # on every CLI
        raise not_allowed("--resume", True, "--ckpt_path already names the checkpoint")
    return options, parts


def report(error: BaseException) -> ExitCode:
    """Print ``error: <one line>`` to stderr; return the exit code: USAGE for a usage or config
    mistake (:class:`ExperimentError`), DATA for bad data (:class:`numpy_impl.data.DataError`:
    missing, truncated, corrupt or unsafe files, a failed download), FAILED for a diverged run
    (:class:`numpy_impl.steps.Diverged`)."""
    from numpy_impl.data import DataError

    print("error: " + " ".join(str(error).split()), file=sys.stderr)
    if isinstance(error, ExperimentError):
        return ExitCode.USAGE
    return ExitCode.DATA if isinstance(error, DataError) else ExitCode.FAILED


def user_errors() -> tuple[type[BaseException], ...]:
    """The errors that are a user's mistake, not a bug (a diverged run included: its learning
    rate is too large): reported in one line by :func:`report`,
    never as a traceback (the data errors imported only when one is being caught)."""
    from numpy_impl.data import DataError
    from numpy_impl.steps import Diverged

    return ExperimentError, DataError, Diverged
