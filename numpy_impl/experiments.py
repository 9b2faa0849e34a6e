"""One definition of every experiment: the YAML files under ``configs/``.

Each file is in the layout LightningCLI reads (``seed_everything``, ``model``
with ``class_path``/``init_args``, ``data``, ``trainer``), so the Lightning
reference passes it to ``--config`` as it is, while the NumPy trainer and the
parity tool read the same file through :func:`load_experiment`. Nothing
restates a hyperparameter in code.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
DEFAULT_EXPERIMENT = "tdt4265/task2b"

MODEL_NAMES = ("TDT4265Binary", "TDT4265Softmax", "DD2424Softmax", "DD2424MultiBCE")
# Fields of model.init_args and data, with their defaults where a file may leave them out.
MODEL_FIELDS: dict[str, Any] = {
    "lr": None,
    "lam": 0.0,
    "validation": "epoch",
    "early_stopping_patience": None,
    "lr_step_epochs": None,
    "lr_plateau_patience": None,
}
DATA_FIELDS: dict[str, Any] = {
    "dataset": None,
    "split": None,
    "root": None,
    "download": False,
    "batch_size": None,
    "shuffle": False,
    "flip": False,
    "val_size": 1000,
}
TRAINER_FIELDS: dict[str, Any] = {"max_epochs": None, "precision": "64-true"}
PRECISIONS = {"64-true": "float64", "64": "float64", "32-true": "float32", "32": "float32"}
VALIDATION_RULES = ("starter", "epoch")
SPLITS = ("tdt4265", "tdt4265_binary", "dd2424", "dd2424_all")
DATASETS = ("mnist", "cifar10")


class ExperimentError(ValueError):
    """An experiment file or override that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Experiment:
    """Every hyperparameter of one run, as read from its YAML file (plus any overrides)."""

    name: str
    path: Path
    seed: int
    model: str
    lr: float
    lam: float
    validation: str
    early_stopping_patience: int | None
    lr_step_epochs: int | None
    lr_plateau_patience: int | None
    dataset: str
    split: str
    root: str | None
    download: bool
    batch_size: int
    shuffle: bool
    flip: bool
    val_size: int
    max_epochs: int
    dtype: str
    config: dict[str, Any] = field(repr=False, compare=False)

    @property
    def text(self) -> str:
        """Which assignment text the experiment belongs to: ``"tdt4265"`` or ``"dd2424"``."""
        return "tdt4265" if self.model.startswith("TDT4265") else "dd2424"


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
        raise ExperimentError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(config, dict):
        raise ExperimentError(
            f"{path}: expected a mapping of sections, got {type(config).__name__}")
    return config


def apply_overrides(config: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``config`` with dotted overrides applied (``model.lam`` reaches into
    ``model.init_args.lam``, as on LightningCLI's command line)."""
    config = copy.deepcopy(config)
    for key, value in overrides.items():
        section, _, name = key.partition(".")
        if section == "seed_everything" and not name:
            config["seed_everything"] = value
            continue
        if section not in ("model", "data", "trainer") or not name:
            raise ExperimentError(
                f"override {key!r}: expected model.FIELD, data.FIELD, trainer.FIELD or "
                "seed_everything"
            )
        target = config.setdefault(section, {})
        if section == "model":
            name = name.removeprefix("init_args.")
            target = target.setdefault("init_args", {})
        target[name] = value
    return config


_REQUIRED = {
    "model": ("lr",),
    "data": ("dataset", "split", "batch_size"),
    "trainer": ("max_epochs",),
}


def _section(config: dict, name: str, known: dict[str, Any], path: Path) -> dict[str, Any]:
    values = config.get(name) or {}
    if name == "model":
        values = values.get("init_args") or {}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ExperimentError(
            f"{path}: unknown field(s) {', '.join(unknown)} in {name!r}; "
            f"known fields: {', '.join(known)}"
        )
    merged = {**known, **values}
    missing = [k for k, v in merged.items() if v is None and k in _REQUIRED[name]]
    if missing:
        raise ExperimentError(f"{path}: {name!r} needs {', '.join(missing)}")
    return merged


def _choice(path: Path, field_name: str, value: Any, choices: tuple) -> Any:
    if value not in choices:
        raise ExperimentError(
            f"{path}: {field_name} is {value!r}; expected one of {', '.join(map(str, choices))}"
        )
    return value


def load_experiment(name_or_path: str | Path = DEFAULT_EXPERIMENT,
                    overrides: dict[str, Any] | None = None) -> Experiment:
    """Read one experiment definition, apply dotted ``overrides``, and check every field."""
    path = resolve(name_or_path)
    config = apply_overrides(read_yaml(path), overrides or {})
    unknown = sorted(set(config) - {"seed_everything", "model", "data", "trainer"})
    if unknown:
        raise ExperimentError(f"{path}: unknown section(s) {', '.join(unknown)}")
    model_name = (config.get("model") or {}).get("class_path", "")
    model_name = _choice(path, "model.class_path", model_name.rpartition(".")[2], MODEL_NAMES)
    model = _section(config, "model", MODEL_FIELDS, path)
    data = _section(config, "data", DATA_FIELDS, path)
    trainer = _section(config, "trainer", {**TRAINER_FIELDS, **_lightning_only(config)}, path)
    seed = config.get("seed_everything", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ExperimentError(f"{path}: seed_everything must be an integer, got {seed!r}")
    name = (str(path.relative_to(CONFIG_DIR).with_suffix(""))
            if path.resolve().is_relative_to(CONFIG_DIR) else path.stem)
    return Experiment(
        name=name,
        path=path,
        seed=seed,
        model=model_name,
        lr=float(model["lr"]),
        lam=float(model["lam"]),
        validation=_choice(path, "model.validation", model["validation"], VALIDATION_RULES),
        early_stopping_patience=model["early_stopping_patience"],
        lr_step_epochs=model["lr_step_epochs"],
        lr_plateau_patience=model["lr_plateau_patience"],
        dataset=_choice(path, "data.dataset", data["dataset"], DATASETS),
        split=_choice(path, "data.split", data["split"], SPLITS),
        root=None if data["root"] in (None, "null", "") else str(data["root"]),
        download=bool(data["download"]),
        batch_size=int(data["batch_size"]),
        shuffle=bool(data["shuffle"]),
        flip=bool(data["flip"]),
        val_size=int(data["val_size"]),
        max_epochs=int(trainer["max_epochs"]),
        dtype=PRECISIONS[_choice(path, "trainer.precision", str(trainer["precision"]),
                                 tuple(PRECISIONS))],
        config=config,
    )


def _lightning_only(config: dict[str, Any]) -> dict[str, Any]:
    """Trainer options only Lightning uses (accelerator, devices, ...) pass through unchecked."""
    return {k: None for k in (config.get("trainer") or {}) if k not in TRAINER_FIELDS}


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
        load_experiment(config["base"], {key: values[0]})
    return base, config["grid"]
