"""One definition of every experiment: the YAML files under ``configs/``.

Each file is in the layout LightningCLI reads (``seed_everything``, ``model``
with ``class_path``/``init_args``, ``data``, ``trainer``), so the Lightning
reference passes it to ``--config`` as it is, while the NumPy trainer and the
parity tool read the same file through :func:`load_experiment`. Nothing
restates a hyperparameter in code.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import MISSING, asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from numpy_impl import splits
from numpy_impl.run.schema import (
    DEFAULT_EXPERIMENT,
    MODEL_NAMES,
    PRECISIONS,
    SECTIONS,
    TRAINER_ARGUMENTS,
    DataSchema,
    ExperimentError,
    ModelSchema,
    TrainerSchema,
    check_batch_size,
    check_field,
    not_allowed,
    schema_fields,
)

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


@dataclass(frozen=True)
class Experiment:
    """Every hyperparameter of one run, as read from its YAML file (plus any overrides): the
    three checked sections of the schema (:mod:`numpy_impl.run.schema`), where each field is
    defined once. ``exp.lr``, ``exp.batch_size``, ``exp.max_epochs`` read the section that
    holds the field."""

    name: str
    path: Path
    seed: int
    model: str  # the model's class name (the last part of model.class_path)
    model_args: ModelSchema
    data: DataSchema
    trainer: TrainerSchema
    config: dict[str, Any] = field(repr=False, compare=False)
    # "data.batch_size" -> "--data.batch_size" or "configs/x.yaml: data.batch_size": where each
    # field's value came from, for messages about it that come later (the batch size).
    origins: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __getattr__(self, name: str) -> Any:
        # Called only for a name that is not an attribute: a field of one of the sections
        # (read from __dict__, so that a half-built object, while unpickled, never recurses).
        for section in ("model_args", "data", "trainer"):
            values = self.__dict__.get(section)
            if values is not None and name in values.__dataclass_fields__:
                return getattr(values, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def dtype(self) -> str:
        """``"float64"`` or ``"float32"``, from ``trainer.precision``."""
        return PRECISIONS[self.trainer.precision]

    @property
    def text(self) -> str:
        """Which assignment text the experiment belongs to: ``"tdt4265"`` or ``"dd2424"``."""
        return "tdt4265" if self.model.startswith("TDT4265") else "dd2424"

    def sections(self) -> dict[str, Any]:
        """Every field of the three sections, by name (no two sections share a name)."""
        return {**asdict(self.model_args), **asdict(self.data), **asdict(self.trainer)}


def experiment_names() -> list[str]:
    """Every experiment under ``configs/`` (grids excluded), as ``text/name``."""
    return sorted(
        str(p.relative_to(CONFIG_DIR).with_suffix(""))
        for p in CONFIG_DIR.glob("*/*.yaml")
        if p.parent.name != "grids"
    )


def resolve(name_or_path: str | Path) -> Path:
    """``tdt4265/task2b`` -> ``configs/tdt4265/task2b.yaml``; an existing path is taken as it is."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    candidate = CONFIG_DIR / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    raise ExperimentError(
        f"no experiment {str(name_or_path)!r}: neither a file nor one of "
        f"{', '.join(experiment_names())} (under {CONFIG_DIR})"
    )


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping, read with the safe loader; a clear error for anything else."""
    try:
        with open(path) as f:
            config = yaml.safe_load(f)
    except yaml.YAMLError as err:
        raise ExperimentError(f"{path}: not valid YAML: {' '.join(str(err).split())}") from err
    if not isinstance(config, dict):
        raise ExperimentError(
            f"{path}: expected a mapping of sections, got {type(config).__name__}")
    return config


def experiment_name(path: str | Path) -> str:
    """The one naming rule: ``configs/tdt4265/task2b.yaml`` -> ``tdt4265/task2b``; a file
    elsewhere -> its stem. Runs and logs are saved under this name by every side."""
    resolved = Path(path).resolve()
    if resolved.is_relative_to(CONFIG_DIR):
        return str(resolved.relative_to(CONFIG_DIR).with_suffix(""))
    return resolved.stem


def shown_path(path: Path) -> str:
    """A file as messages name it: relative to the current folder when inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(Path.cwd())) if resolved.is_relative_to(Path.cwd()) else (
        str(path))


def override_key(key: str) -> str:
    """An override's key in the file's spelling: ``model.init_args.lam`` -> ``model.lam``."""
    return key.replace(".init_args.", ".", 1)


def apply_overrides(config: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``config`` with dotted overrides applied (``model.lam`` reaches into
    ``model.init_args.lam``, as on LightningCLI's command line)."""
    config = copy.deepcopy(config)
    for key, value in overrides.items():
        section, _, name = override_key(key).partition(".")
        if not name:
            config[section] = value
            continue
        target = config.setdefault(section, {})
        if section == "model" and name != "class_path":
            target = target.setdefault("init_args", {})
        target[name] = value
    return config


def load_experiment(name_or_path: str | Path = DEFAULT_EXPERIMENT,
                    overrides: Mapping[str, Any] | None = None,
                    flags: Mapping[str, str] | None = None) -> Experiment:
    """Read one experiment definition, apply dotted ``overrides`` and check every field against
    the schema (:mod:`numpy_impl.run.schema`).

    A refused value raises :class:`ExperimentError` naming where it came from: the flag
    (``flags[key]``, default ``--key``) for an override, the file and field otherwise.
    """
    path = resolve(name_or_path)
    overrides = {override_key(k): v for k, v in (overrides or {}).items()}
    flags = {**{k: f"--{k}" for k in overrides}, **(flags or {})}
    origins = {key: flags[key] for key in overrides}
    config = read_yaml(path)
    for section in config:
        if section not in SECTIONS:
            raise not_allowed(f"{shown_path(path)}: {section}", config[section],
                              f"unknown section (the sections are {', '.join(SECTIONS)})")
    for key, value in overrides.items():
        section, _, name = key.partition(".")
        if section not in SECTIONS or bool(name) == (section == "seed_everything"):
            raise not_allowed(flags[key], value, "unknown flag (expected --model.FIELD, "
                              "--data.FIELD, --trainer.FIELD, --model or --seed_everything)")
    config = apply_overrides(config, overrides)

    def where(key: str) -> str:
        return origins.setdefault(key, f"{shown_path(path)}: {key}")

    _fields_of(config, "model", where)  # model must be a mapping before its class_path is read
    class_path = config["model"].get("class_path")
    model_name = str(class_path).rpartition(".")[2]
    if model_name not in MODEL_NAMES:
        raise not_allowed(where("model.class_path"), class_path,
                          "expected one of " + ", ".join(MODEL_NAMES))
    values = {section: _checked_section(config, section, where)
              for section in ("model", "data", "trainer")}
    seed = check_field(where("seed_everything"), int, config.get("seed_everything", 0))
    data = values["data"]
    if data["root"] in ("null", ""):  # a flag cannot give YAML's null
        data["root"] = None
    return Experiment(name=experiment_name(path), path=path, seed=seed, model=model_name,
                      model_args=ModelSchema(**values["model"]), data=DataSchema(**data),
                      trainer=TrainerSchema(**values["trainer"]), config=config,
                      origins=origins)


def _fields_of(config: dict[str, Any], section: str, where: Callable[[str], str]
               ) -> dict[str, Any]:
    """The mapping in ``config`` that holds a section's fields (``model.init_args`` for the
    model), created empty where the file leaves it out, so checked values can be put back."""
    holder = config
    for key in (section, "init_args") if section == "model" else (section,):
        if holder.get(key) is None:
            holder[key] = {}
        if not isinstance(holder[key], dict):
            name = section if key == section else f"{section}.{key}"
            raise not_allowed(where(name), holder[key], "expected a mapping of fields")
        holder = holder[key]
    return holder


def _checked_section(config: dict[str, Any], section: str, where: Callable[[str], str]
                     ) -> dict[str, Any]:
    """Every typed field of one section, converted and checked (defaults filled in); unknown
    fields refused, except Lightning's own Trainer arguments under ``trainer``."""
    values = _fields_of(config, section, where)
    known = schema_fields(section)
    for name, value in values.items():
        # Lightning's own Trainer arguments, nested ones too (--trainer.logger.save_dir DIR)
        lightning_only = section == "trainer" and name.partition(".")[0] in TRAINER_ARGUMENTS
        if name not in known and not lightning_only:
            others = " and any pytorch_lightning.Trainer argument" if section == "trainer" else ""
            raise not_allowed(where(f"{section}.{name}"), value, f"unknown field of {section} "
                              f"(its fields: {', '.join(known)}{others})")
    checked = {}
    for name, (hint, default, field_rule) in known.items():
        if name in values:
            values[name] = check_field(where(f"{section}.{name}"), hint, values[name], field_rule)
            checked[name] = values[name]
        elif default is MISSING:
            raise not_allowed(where(f"{section}.{name}"), None, "a value is required")
        else:
            checked[name] = default
    return checked


def load_grid(name_or_path: str | Path) -> tuple[Experiment, dict[str, list]]:
    """A grid definition (``configs/grids/*.yaml``): its base experiment and the lists to sweep."""
    path = Path(name_or_path)
    path = path if path.is_file() else resolve(f"grids/{path.name.removesuffix('.yaml')}")
    config = read_yaml(path)
    if set(config) != {"base", "grid"} or not isinstance(config["grid"], dict):
        raise ExperimentError(f"{path}: a grid file holds exactly 'base' and 'grid' (a mapping)")
    base = load_experiment(config["base"])
    for key, values in config["grid"].items():
        if not isinstance(values, list) or not values:
            raise ExperimentError(f"{path}: grid.{key} must be a non-empty list")
        load_experiment(config["base"], {key: values[0]},
                        {key: f"{shown_path(path)}: grid.{key}"})
    return base, config["grid"]


def experiment_split(exp: Experiment) -> splits.Split:
    """The split an experiment definition names, checked against its batch size (which cannot
    exceed the training set: known only now, before any training)."""
    split = splits.load_split(exp.dataset, exp.split, exp.root, exp.download, exp.val_size,
                              exp.dtype)
    check_batch_size(exp.batch_size, split.sizes()["train"],
                     exp.origins.get("data.batch_size", "data.batch_size"))
    return split
