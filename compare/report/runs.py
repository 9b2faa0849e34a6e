"""The runs a report needs: each experiment trained by both sides, measured, and cached.

A :class:`Job` names one experiment definition and its overrides. :func:`run_jobs` trains each
job with the NumPy implementation (:func:`numpy_impl.run.train.run_experiment`, for the final
weights and the text's own histories) and, unless the job opts out, once more through
:func:`compare.run_parity` (Lightning's reference in lockstep with the NumPy side), whose
TensorBoard run gives the reference's curves and whose :class:`ParityReport` gives the largest
error between the two. What a report draws from a run is a :class:`RunRecord`; it is cached
under a hash of the experiment's resolved definition, so rerunning a report redoes only the
runs whose definition changed.

The cache lives outside TensorBoard's log folder (by default ``.report-cache/`` beside
``runs/``), so that ``tensorboard --logdir runs/`` lists only the runs themselves; each
lockstep run's TensorBoard files go to ``<logdir>/report/<experiment>_<hyperparameters>/``
(e.g. ``runs/report/dd2424/setting1_eta0.1_lam0/``). An older cache under
``runs/report-cache/`` is never read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from compare.parity.findings import ParityReport
from compare.parity.run import run_parity
from numpy_impl.models import MODELS
from numpy_impl.run.experiments import Experiment, experiment_split, load_experiment
from numpy_impl.run.train import RunResult, run_experiment
from numpy_impl.splits import Split
from numpy_impl.texts import TEXTS

#: The TensorBoard log folder a report's lockstep runs go under (as ``report/<name>``).
LOG_DIR = Path("runs")
#: The cache's default: a sibling of the log folder, never inside it.
CACHE_NAME = ".report-cache"
CACHE_DIR = LOG_DIR.parent / CACHE_NAME
#: What --quick does to every run: one epoch, and a validation set small enough for the
#: generated CIFAR-format files the tests write.
QUICK_OVERRIDES: dict[str, Any] = {"trainer.max_epochs": 1}
QUICK_VAL_SIZE = 100
SIDES = ("numpy", "lightning")
#: What a cached record holds; raised whenever that changes (2: Lightning's whole-training-set
#: loss and cost per epoch), so that an older entry is trained again rather than drawn short.
RECORD_VERSION = 2

Series = tuple[list[float], list[float]]
Curves = dict[str, dict[str, Series]]


@dataclass(frozen=True)
class Job:
    """One run of a report: ``experiment`` (a name under configs/) with dotted ``overrides``.

    ``name`` is how the report refers to it (default: the experiment's name); ``parity`` False
    trains the NumPy side only (the grid search's many points, which the report shows as a
    table, not as curves).
    """

    experiment: str
    overrides: tuple[tuple[str, Any], ...] = ()
    name: str = ""
    parity: bool = True

    @property
    def label(self) -> str:
        return self.name or self.experiment


@dataclass
class ParitySummary:
    """What the lockstep run found: the largest relative error over every quantity compared,
    the verdict, the number of steps compared, both sides' final metrics and the data."""

    max_rel_error: float
    passed: bool
    verdict: str
    steps: int
    final_metrics: dict[str, dict[str, float]]
    data: str

    @classmethod
    def of(cls, report: ParityReport) -> ParitySummary:
        return cls(max((q.max_rel for q in report.quantities.values()), default=float("nan")),
                   report.passed, report.verdict(), report.steps,
                   report.summary.get("final metrics", {}), report.summary.get("data", ""))


@dataclass
class RunRecord:
    """One finished run as the report uses it.

    ``curves[side][tag] = (x, y)`` for side ``numpy`` (from the NumPy trainer's history) and
    ``lightning`` (from compare's TensorBoard run); x is the gradient step for TDT4265 and the
    epoch (fractional for per-step values) for DD2424. ``arrays`` holds the final NumPy
    parameters, the class-template images (``templates``, K x H x W x C in [0, 1]) and, for
    DD2424, the test images' ground-truth-class probability (``p_true``) and whether each was
    classified correctly (``correct``).
    """

    name: str
    experiment: dict[str, Any]
    metrics: dict[str, Any]
    sizes: dict[str, int]
    curves: Curves
    parity: ParitySummary | None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    log_dir: str | None = None
    data: str = ""  # the split's description: which data the run trained on

    @property
    def embedded(self) -> bool:
        """Whether the run trained on the embedded 5,000-image MNIST subset."""
        return "embedded" in self.data

    @property
    def lam(self) -> float:
        return float(self.experiment["model"]["init_args"].get("lam", 0.0))

    def init_arg(self, key: str, default: Any = None) -> Any:
        """A field of the experiment's ``model.init_args`` (lr, lam, ...)."""
        return self.experiment["model"]["init_args"].get(key, default)

    def data_arg(self, key: str, default: Any = None) -> Any:
        """A field of the experiment's ``data`` section (batch_size, shuffle, ...)."""
        return self.experiment["data"].get(key, default)


def resolve(job: Job, overrides: Mapping[str, Any], quick: bool) -> Experiment:
    """The experiment a job runs: its file, the report's overrides (data root, ...), the job's
    own, and in quick mode :data:`QUICK_OVERRIDES` (and a validation set of
    :data:`QUICK_VAL_SIZE` where the split takes one from the training batches)."""
    exp = load_experiment(job.experiment, {**overrides, **dict(job.overrides)})
    if not quick:
        return exp
    quick_overrides = dict(QUICK_OVERRIDES)
    if exp.split == "dd2424_all":
        quick_overrides["data.val_size"] = min(exp.val_size, QUICK_VAL_SIZE)
    return load_experiment(job.experiment, {**overrides, **dict(job.overrides), **quick_overrides})


def default_cache_dir(log_dir: str | Path) -> Path:
    """Where a report keeps its finished runs by default: ``.report-cache/`` beside the
    TensorBoard log folder (``runs/`` -> ``.report-cache/``), so TensorBoard never lists it."""
    return Path(log_dir).absolute().parent / CACHE_NAME


def run_name(job: Job, exp: Experiment, quick: bool) -> str:
    """The TensorBoard run's readable name: the job's label and its hyperparameters, e.g.
    ``dd2424/setting1_eta0.1_lam0`` (``eta`` in DD2424's notation, ``lr`` in TDT4265's),
    with ``_quick`` for a shortened run."""
    args = exp.config["model"]["init_args"]
    values = [f"{short}{args[key]:g}" for short, key in ((TEXTS[exp.text].rate, "lr"),
                                                          ("lam", "lam"))
              if isinstance(args.get(key), int | float)]
    parts = [job.label] + [v for v in values if v not in job.label]  # said once
    return "_".join(parts) + ("_quick" if quick else "")


def cache_key(exp: Experiment, quick: bool, parity: bool) -> str:
    """A hash of everything that decides a run's outcome: the resolved definition (without
    ``data.download``, which only says how the files arrive), quick mode, whether the
    Lightning side runs, and what a record holds (:data:`RECORD_VERSION`)."""
    config = json.loads(json.dumps(exp.config, default=str))
    config.get("data", {}).pop("download", None)
    text = json.dumps({"config": config, "quick": quick, "parity": parity,
                       "record": RECORD_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_curves(log_dir: str | Path) -> dict[str, dict[str, Series]]:
    """Every scalar of a compare TensorBoard run as ``curves[side][tag] = (steps, values)``.

    The side is the tag's first component (``numpy/val/loss`` in one run) or the sub-run's
    folder (``<run>/numpy`` and ``<run>/lightning`` holding the same tags); other tags (e.g.
    ``parity/max_rel_error``) land under their first component. Where a step is logged more
    than once the last value counts.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root = Path(log_dir)
    curves: dict[str, dict[str, dict[int, float]]] = {}
    for folder in sorted({p.parent for p in root.rglob("events.out.tfevents.*")}):
        accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
        accumulator.Reload()
        run = folder.relative_to(root).parts
        for tag in accumulator.Tags()["scalars"]:
            side, rest = (run[-1], tag) if run else tag.split("/", 1)
            for event in accumulator.Scalars(tag):
                curves.setdefault(side, {}).setdefault(rest, {})[event.step] = event.value
    return {side: {tag: (sorted(points), [points[s] for s in sorted(points)])
                   for tag, points in tags.items()} for side, tags in curves.items()}


def numpy_curves(exp: Experiment, history: Mapping[str, Any]) -> dict[str, Series]:
    """The NumPy trainer's history as curves: TDT4265 by gradient step (``train/loss`` at every
    step; ``train/acc``, ``val/loss``, ``val/acc`` at every validation), DD2424 by epoch
    (``train/loss``, ``train/cost``, ``train/acc`` on the whole training set, the same for
    ``val``, and ``lr``)."""
    if TEXTS[exp.text].curves_by == "step":
        pairs = {"train/loss": history["train"]["loss"], "train/acc": history["train"]["accuracy"],
                 "val/loss": history["val"]["loss"], "val/acc": history["val"]["accuracy"]}
        return {tag: ([float(s) for s in values], [float(v) for v in values.values()])
                for tag, values in pairs.items()}
    epochs = [float(e) for e in range(1, len(history["train_loss"]) + 1)]
    names = {"loss": "loss", "cost": "cost", "acc": "accuracy"}
    curves = {f"{part}/{short}": (epochs, [float(v) for v in history[f"{part}_{long}"]])
              for part in ("train", "val") for short, long in names.items()}
    curves["lr"] = (epochs, [float(v) for v in history["eta"]])
    return curves


def lightning_curves(exp: Experiment, log_dir: Path, steps_per_epoch: int) -> dict[str, Series]:
    """The Lightning reference's curves from compare's TensorBoard run, on the NumPy curves'
    x axis: gradient steps for TDT4265; for DD2424 epochs, a value logged after update s (from
    0) at epoch (s + 1) / steps_per_epoch. DD2424's per-step ``train/loss`` and ``train/cost``
    (each step's batch) become ``batch/loss`` and ``batch/cost``, and the whole training set's
    ``train/full_loss`` and ``train/full_cost`` of each validation (once per epoch) become
    ``train/loss`` and ``train/cost``, as in the NumPy history."""
    curves = read_curves(log_dir).get("lightning", {})
    if TEXTS[exp.text].curves_by == "step":
        return curves
    per_step = {"train/loss": "batch/loss", "train/cost": "batch/cost",
                "train/full_loss": "train/loss", "train/full_cost": "train/cost"}
    return {per_step.get(tag, tag): ([(s + 1) / steps_per_epoch for s in x], y)
            for tag, (x, y) in curves.items()}


def measure(exp: Experiment, result: RunResult, split: Split) -> dict[str, np.ndarray]:
    """The arrays a report draws from trained parameters: the class templates and, for
    DD2424, each test image's probability of its true class and whether it was right."""
    import torch

    from lightning_ref.figures import class_templates
    from lightning_ref.models import MODELS as MODULES

    params = {k: np.asarray(v) for k, v in result.params.items()}
    module = MODULES[exp.model](lr=exp.lr, initial_parameters=params)
    with torch.no_grad():
        templates = class_templates(module.class_weights(), split.image_shape)
    arrays = {**{f"param_{k}": v for k, v in params.items()},
              "templates": templates.permute(0, 2, 3, 1).numpy()}
    if split.X_test is not None:
        model = MODELS[exp.model].numpy_class(exp.lam, params=params)
        P = model.probabilities(split.X_test)
        labels = split.Y_test.argmax(axis=0)
        arrays["p_true"] = P[labels, np.arange(labels.size)]
        arrays["correct"] = P.argmax(axis=0) == labels
    return arrays


def _train(job: Job, exp: Experiment, folder: Path) -> RunRecord:
    """Train ``exp`` with the NumPy side and, where the job asks, in lockstep with Lightning."""
    result = run_experiment(exp, runs_dir=None, verbose=False)
    split = experiment_split(exp)
    curves: Curves = {"numpy": numpy_curves(exp, result.history)}
    parity = log_dir = None
    if job.parity:
        report = run_parity(exp, log_dir=folder / "tensorboard", strict=False)
        parity = ParitySummary.of(report)
        epochs = max(len(result.history.get("train_loss", [])), 1)
        curves["lightning"] = lightning_curves(exp, Path(report.log_dir), report.steps // epochs)
        log_dir = str(report.log_dir)
    return RunRecord(job.label, json.loads(json.dumps(exp.config, default=str)),
                     result.metrics, split.sizes(), curves, parity,
                     measure(exp, result, split), log_dir, split.description)


def _save(record: RunRecord, folder: Path) -> None:
    meta = {k: v for k, v in record.__dict__.items() if k != "arrays"}
    meta["parity"] = None if record.parity is None else record.parity.__dict__
    (folder / "record.json").write_text(json.dumps(meta, indent=1, default=_item))
    np.savez(folder / "arrays.npz", **record.arrays)


def _load(folder: Path) -> RunRecord | None:
    try:
        meta = json.loads((folder / "record.json").read_text())
        with np.load(folder / "arrays.npz", allow_pickle=False) as npz:  # never code
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or "data" not in meta:  # an older entry: train it again
        return None
    meta["parity"] = None if meta["parity"] is None else ParitySummary(**meta["parity"])
    curves = {side: {tag: (list(x), list(y)) for tag, (x, y) in tags.items()}
              for side, tags in meta.pop("curves").items()}
    return RunRecord(**meta, curves=curves, arrays=arrays)


def run_job(job: Job, overrides: Mapping[str, Any], quick: bool, cache_dir: Path,
            log_dir: Path = LOG_DIR) -> RunRecord:
    """``job``'s record: from the cache when its definition ran before, else trained now (the
    NumPy side and, unless ``job.parity`` is False, the lockstep run) and cached. Whatever the
    runs print goes to ``run.log`` in the cache entry; the lockstep run's TensorBoard files to
    ``log_dir/report/<run_name>/`` (replacing an earlier run of that name)."""
    exp = resolve(job, overrides, quick)
    folder = cache_dir / f"{job.label.replace('/', '-')}-{cache_key(exp, quick, job.parity)}"
    cached = _load(folder)
    if cached is not None:
        return cached
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with open(partial / "run.log", "w") as log, contextlib.redirect_stdout(log), _quiet():
        record = _train(job, exp, partial)
    if record.log_dir is not None:
        target = Path(log_dir) / "report" / run_name(job, exp, quick)
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(record.log_dir, target)
        shutil.rmtree(partial / "tensorboard", ignore_errors=True)
        record.log_dir = str(target)
    _save(record, partial)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return record


def run_jobs(jobs: Iterable[Job], overrides: Mapping[str, Any], quick: bool, cache_dir: Path,
             extra: Mapping[str, Callable[[], Any]] | None = None, progress: bool = True,
             log_dir: Path = LOG_DIR) -> tuple[dict[str, RunRecord], dict[str, Any]]:
    """Every job's record by its label, and every ``extra`` task's result (JSON-able, cached by
    its name and quick mode) by its name, with a progress bar that says which run of how many
    is under way."""
    jobs, extra = list(jobs), dict(extra or {})
    records: dict[str, RunRecord] = {}
    results: dict[str, Any] = {}
    total = len(jobs) + len(extra)
    with tqdm(total=total, unit="run", disable=not progress, dynamic_ncols=True) as bar:
        for i, job in enumerate(jobs, 1):
            bar.set_description(f"run {i}/{total}: {job.label}")
            records[job.label] = run_job(job, overrides, quick, cache_dir, log_dir)
            bar.update(1)
        for i, (name, task) in enumerate(extra.items(), len(jobs) + 1):
            bar.set_description(f"run {i}/{total}: {name}")
            results[name] = _cached_json(cache_dir / f"{name}-{'quick' if quick else 'full'}.json",
                                         task)
            bar.update(1)
    return records, results


def _cached_json(path: Path, task: Callable[[], Any]) -> Any:
    """``task()``'s JSON-able result, computed once and kept in ``path``."""
    if path.is_file():
        return json.loads(path.read_text())
    result = task()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, default=_item))
    return result


@contextlib.contextmanager
def _quiet() -> Any:
    """Lightning's banners and warnings off while a run trains (the report has its own bar)."""
    names = ("pytorch_lightning", "lightning.pytorch", "lightning_fabric")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)


def _item(value: np.generic) -> Any:
    """A NumPy scalar (the trainers' metrics hold some) as the Python number JSON writes."""
    return value.item()
