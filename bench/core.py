"""The measurements of ``python -m bench``; each returns a dict of figures and ratios.

Timing rule: a subject and its baseline are run alternately (subject, baseline, subject, ...)
and the ratio is the median of the per-repeat ratios, so that load on a shared machine hits
both about equally. Seconds are medians over the repeats.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from numpy_impl import dd2424, draws, splits, tdt4265
from numpy_impl.texts import TEXTS

REPO = Path(__file__).resolve().parent.parent


def now() -> float:
    return time.perf_counter()


def timed(fn: Callable[[], Any]) -> float:
    start = now()
    fn()
    return now() - start


def paired(subject: Callable[[], Any], baseline: Callable[[], Any], repeats: int,
           warm_up: bool = True) -> dict[str, float]:
    """Median seconds of both and the median of the per-repeat ratios subject / baseline,
    after one untimed warm-up of each (unless ``warm_up`` is False)."""
    if warm_up:
        subject(), baseline()
    s, b = [], []
    for _ in range(repeats):
        s.append(timed(subject))
        b.append(timed(baseline))
    return {"seconds": statistics.median(s), "baseline_seconds": statistics.median(b),
            "ratio": statistics.median(x / y for x, y in zip(s, b, strict=True))}


# ----------------------------------------------------------------------------- data files


class Shapes:
    """The sizes a run uses: the real ones, or small ones for ``--quick``."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.cifar_per_batch = 1000 if quick else 10_000
        self.mnist_train, self.mnist_test = (3000, 1000) if quick else (60_000, 10_000)
        self.repeats = 1 if quick else 5
        self.epochs = 2 if quick else 4  # Lightning fits: the first epoch is a warm-up
        # the fit CLI's long run: its marginal epoch is (long - 1 epoch) / (cli_epochs - 1),
        # so that the fixed cost's noise (seconds of start-up) is divided by 8
        self.cli_epochs = 2 if quick else 9


def write_data(root: Path, shapes: Shapes) -> None:
    """Fake CIFAR-10 batches and MNIST IDX files of the real size (small ones for --quick), in
    the real formats, written by the project's one set of writers (tests/fakes.py)."""
    try:
        from tests.fakes import write_cifar_root, write_mnist_root
    except ImportError as err:  # an installed package without the repository's tests/
        raise SystemExit(
            "python -m bench writes its data with tests/fakes.py, which only the repository "
            "checkout has: run it from the repository root, or pass --data-root DIR holding "
            "MNIST/raw/*-ubyte.gz and cifar-10-batches-py/") from err
    write_cifar_root(root, shapes.cifar_per_batch)
    write_mnist_root(root, shapes.mnist_train, shapes.mnist_test)


def load(text: str, root: str, dtype: str) -> splits.Split:
    return splits.load_split(TEXTS[text].dataset, TEXTS[text].split, root, dtype=dtype)


# ----------------------------------------------------------------------------- 1. NumPy epochs


def numpy_dd2424_epoch(split: splits.Split, n_batch: int = 100, d: int | None = None,
                       n: int | None = None, validate: bool = True) -> Callable[[], Any]:
    X, Y = split.X_train[:d, :n], split.Y_train[:, :n]
    Xv, Yv = (split.X_val[:d], split.Y_val) if validate else (None, None)
    rng = draws.make_rng(0)
    net = {k: v.astype(X.dtype) for k, v in dd2424.init_network(10, X.shape[0], rng).items()}
    params = {"n_batch": n_batch, "eta": 0.001, "n_epochs": 1}
    return lambda: dd2424.mini_batch_gd(X, Y, params, net, 0.1, rng, Xv, Yv)


def bound_dd2424_epoch(split: splits.Split, n_batch: int = 100, d: int | None = None,
                       n: int | None = None, validate: bool = True) -> Callable[[], Any]:
    """The same batches (pre-sliced, contiguous) through only the products a step needs,
    ``S = W X`` and ``G X^T``, then one product per evaluated set."""
    X, Xv = split.X_train[:d, :n], split.X_val[:d]
    order = draws.make_rng(1).permutation(X.shape[1])
    batches = [np.ascontiguousarray(X[:, order[sl]])
               for sl in draws.batch_slices(X.shape[1], n_batch)]
    W = np.full((10, X.shape[0]), 0.01, dtype=X.dtype)
    sets = [X, Xv] if validate else [X]

    def run() -> None:
        for Xb in batches:
            S = W @ Xb
            S @ Xb.T
        for XX in sets:
            W @ XX
    return run


def numpy_tdt4265_epoch(split: splits.Split) -> Callable[[], Any]:
    def run() -> None:
        model = tdt4265.SoftmaxModel(0.0, dtype=split.X_train.dtype)
        trainer = tdt4265.SoftmaxTrainer(model, 0.01, 128, True, split.X_train, split.Y_train,
                                         split.X_val, split.Y_val, rng=draws.make_rng(0))
        trainer.train(1)
    return run


def bound_tdt4265_epoch(split: splits.Split) -> Callable[[], Any]:
    """The same batches through ``X w`` and ``X^T G``; at the starter's cadence one product per
    evaluated set (validation and training)."""
    X, Xv = split.X_train, split.X_val
    order = draws.make_rng(1).permutation(len(X))
    slices = draws.batch_slices(len(X), 128)
    batches = [np.ascontiguousarray(X[order[sl]]) for sl in slices]
    interval = tdt4265.validation_interval(len(slices))
    w = np.full((X.shape[1], 10), 0.01, dtype=X.dtype)

    def run() -> None:
        for step, Xb in enumerate(batches):
            Z = Xb @ w
            Xb.T @ Z
            if step % interval == 0:
                Xv @ w
                X @ w
    return run


def numpy_rows(root: str, shapes: Shapes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dtype in ("float64", "float32"):
        for text, subject, bound in (("dd2424", numpy_dd2424_epoch, bound_dd2424_epoch),
                                     ("tdt4265", numpy_tdt4265_epoch, bound_tdt4265_epoch)):
            split = load(text, root, dtype)
            row = paired(subject(split), bound(split), shapes.repeats)
            row["shape"] = list(split.X_train.shape)
            out[f"{text}_{dtype}"] = row
    return out


# ----------------------------------------------------------------------------- threads


def thread_rows(root: str, shapes: Shapes) -> dict[str, Any]:
    """NumPy and bare-torch epochs with one BLAS / torch thread against two."""
    from threadpoolctl import threadpool_limits

    out: dict[str, Any] = {}
    for text, subject in (("dd2424", numpy_dd2424_epoch), ("tdt4265", numpy_tdt4265_epoch)):
        run = subject(load(text, root, "float64"))

        def with_threads(k: int, run: Callable[[], Any] = run) -> Callable[[], Any]:
            def go() -> None:
                with threadpool_limits(limits=k):
                    run()
            return go
        out[f"numpy_{text}"] = paired(with_threads(1), with_threads(2), shapes.repeats)
    import torch

    before = torch.get_num_threads()
    for text in ("dd2424", "tdt4265"):
        dm = lightning_data(text, root)
        loop = bare_loop(dm, text)

        def torch_threads(k: int, loop: Callable[[], Any] = loop) -> Callable[[], Any]:
            def go() -> None:
                torch.set_num_threads(k)
                loop()
            return go
        out[f"torch_{text}"] = paired(torch_threads(1), torch_threads(2), shapes.repeats)
    torch.set_num_threads(before)
    return out


# ----------------------------------------------------------------------------- 2. Lightning


LIGHTNING_SETTINGS = {  # the configs these shapes come from: dd2424/setting2, tdt4265/task3b
    "dd2424": {"model": "DD2424Softmax", "lr": 0.001, "lam": 0.1, "validation": "epoch",
               "early_stopping_patience": None, "dataset": "cifar10", "split": "dd2424",
               "batch_size": 100},
    "tdt4265": {"model": "TDT4265Softmax", "lr": 0.01, "lam": 0.0, "validation": "starter",
                # the text's patience is 10; random labels would stop the fit in its second
                # epoch, so a patience that never triggers keeps the callbacks' per-step cost
                "early_stopping_patience": 10**6, "dataset": "mnist", "split": "tdt4265",
                "batch_size": 128},
}


def lightning_data(text: str, root: str) -> Any:
    from lightning_ref.data import ExperimentDataModule

    s = LIGHTNING_SETTINGS[text]
    dm = ExperimentDataModule(s["dataset"], s["split"], s["batch_size"], root,
                              shuffle=True, seed=0)
    dm.initial_parameters  # noqa: B018 (loads the split, draws the parameters)
    dm.setup("fit")
    return dm


def bare_loop(dm: Any, text: str) -> Callable[[], Any]:
    """One epoch as a bare PyTorch loop on the data module's tensors: the same batches
    (gathered as rows), forward, loss and cost, backward, SGD, and the text's validations."""
    import torch
    import torch.nn.functional as F

    s = LIGHTNING_SETTINGS[text]
    lr, lam = s["lr"], s["lam"]
    params = {k: torch.tensor(v, requires_grad=True) for k, v in dm.initial_parameters.items()}
    X, Y = dm.tensors["train"]
    Xv, Yv = dm.tensors["val"]
    columns = dm.axis == 1
    rows_X, rows_Y = (X.T, Y.T) if columns else (X, Y)
    n = rows_X.shape[0]
    slices = draws.batch_slices(n, dm.batch_size)
    interval = tdt4265.validation_interval(len(slices))
    rng = draws.make_rng(0)

    if columns:
        W, b = params["W"], params["b"]

        def loss_cost(Xb: Any, Yb: Any) -> tuple[Any, Any, Any]:
            S = W @ Xb + b
            loss = -(Yb * F.log_softmax(S, dim=0)).sum(dim=0).mean()
            return loss, loss + lam * (W * W).sum(), S.argmax(dim=0)
        label_axis = 0
    else:
        w = params["w"]

        def loss_cost(Xb: Any, Yb: Any) -> tuple[Any, Any, Any]:
            Z = Xb @ w
            loss = -(Yb * F.log_softmax(Z, dim=1)).sum(dim=1).mean()
            return loss, loss + lam * (w * w).sum(), Z.argmax(dim=1)
        label_axis = 1

    def validate() -> dict[str, float]:
        with torch.no_grad():
            loss, cost, pred = loss_cost(Xv, Yv)
            train_pred = loss_cost(X, Y)[2]
            return {"loss": float(loss), "cost": float(cost),
                    "acc": float((pred == Yv.argmax(dim=label_axis)).double().mean()),
                    "train_acc": float((train_pred == Y.argmax(dim=label_axis)).double().mean())}

    def epoch() -> None:
        order = torch.from_numpy(draws.draw_epoch(rng, n, True, False).order)
        for step, sl in enumerate(slices):
            index = order[sl]
            Xb, Yb = rows_X.index_select(0, index), rows_Y.index_select(0, index)
            if columns:
                Xb, Yb = Xb.T, Yb.T
            loss, cost, _ = loss_cost(Xb, Yb)
            cost.backward()
            with torch.no_grad():
                for p in params.values():
                    p -= lr * p.grad
                    p.grad = None
            float(loss.detach())  # what a logger of the per-step loss needs
            if not columns and step % interval == 0:
                validate()
        if columns:
            validate()
    return epoch


def lightning_epochs(text: str, root: str, epochs: int, workdir: Path) -> list[float]:
    """Seconds of each epoch of the Lightning reference (the fit CLI's Trainer settings,
    TensorBoard logger, progress bar as the CLI draws it on a terminal, the model's callbacks),
    from a callback's clock."""
    import pytorch_lightning as pl
    from pytorch_lightning.loggers import TensorBoardLogger

    from lightning_ref.fit import (
        BAR_REFRESH_STEPS,
        TRAINER_DEFAULTS,
        StepLossBar,
        lightning_validation_batches,
    )
    from lightning_ref.models import MODELS

    s = LIGHTNING_SETTINGS[text]
    dm = lightning_data(text, root)
    clock = epoch_clock()
    model = MODELS[s["model"]](lr=s["lr"], lam=s["lam"], validation=s["validation"],
                               early_stopping_patience=s["early_stopping_patience"],
                               initial_parameters=dm.initial_parameters)
    trainer = pl.Trainer(**{**TRAINER_DEFAULTS, "default_root_dir": str(workdir)},
                         max_epochs=epochs,
                         callbacks=[clock, StepLossBar(refresh_rate=BAR_REFRESH_STEPS)],
                         logger=TensorBoardLogger(str(workdir), name=text),
                         limit_val_batches=lightning_validation_batches(s["validation"]))
    trainer.fit(model, datamodule=dm)
    return clock.seconds()


def epoch_clock() -> Any:
    """A callback that times every training epoch from its start to its end (the end comes
    after the epoch's validation): ``.seconds()``."""
    import pytorch_lightning as pl

    class EpochClock(pl.Callback):
        def __init__(self) -> None:
            self.starts: list[float] = []
            self.ends: list[float] = []

        def on_train_epoch_start(self, *args: Any) -> None:
            self.starts.append(now())

        def on_train_epoch_end(self, *args: Any) -> None:
            self.ends.append(now())

        def seconds(self) -> list[float]:
            return [e - s for s, e in zip(self.starts, self.ends, strict=True)]
    return EpochClock()


def lightning_rows(root: str, shapes: Shapes, workdir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for text in ("dd2424", "tdt4265"):
        loop = bare_loop(lightning_data(text, root), text)
        bare = [timed(loop) for _ in range(shapes.epochs)]
        fit = lightning_epochs(text, root, shapes.epochs, workdir)[1:]  # first: warm-up
        bare = bare[1:] + [timed(loop) for _ in range(shapes.epochs - 1)]
        out[text] = {"seconds": statistics.median(fit),
                     "baseline_seconds": statistics.median(bare),
                     "ratio": statistics.median(fit) / statistics.median(bare)}
    return out


# ----------------------------------------------------------------------------- 2b. the fit CLI

CLI_EXPERIMENTS = {  # the fit CLI's experiment and flags for each text's shapes
    "dd2424": ("dd2424/setting2", ()),
    # random labels would stop task 3b's early stopping in its second epoch: a patience that
    # never triggers keeps its per-step checkpoint checks
    "tdt4265": ("tdt4265/task3b", ("--model.early_stopping_patience", str(10**6))),
}


def child_env() -> dict[str, str]:
    """The environment of a child interpreter that imports this checkout's packages."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}


#: Runs ``python -m MODULE ARGS`` or ``python -c CODE ARGS`` as python would, and writes the
#: process's peak resident memory (``VmHWM``, in KiB) to the file ``argv[1]`` as it exits. Read
#: inside the process: ``wait4``'s ``ru_maxrss`` of a child counts the memory of the parent it
#: was forked from (Linux keeps the larger of the two at ``exec``).
PEAK_LAUNCHER = """
import atexit, runpy, sys
out, mode, target, *rest = sys.argv[1:]
def peak():
    with open('/proc/self/status') as f:
        kib = next(line.split()[1] for line in f if line.startswith('VmHWM:'))
    with open(out, 'w') as f:
        f.write(kib)
atexit.register(peak)
if mode == '-m':
    sys.argv = [target, *rest]
    runpy.run_module(target, run_name='__main__', alter_sys=True)
else:
    sys.argv = ['-c', *rest]
    exec(compile(target, '<string>', 'exec'), {'__name__': '__main__'})
"""


def own_peak() -> int:
    """This process's peak resident memory in bytes (``VmHWM``, as :data:`PEAK_LAUNCHER`)."""
    with open("/proc/self/status") as f:
        return int(next(line.split()[1] for line in f if line.startswith("VmHWM:"))) * 1024


def run_child(args: list[str], cwd: Path, log: Path | None = None, stdout: Any = None
              ) -> tuple[float, int]:
    """Run ``python ARGS`` (``-m MODULE ...`` or ``-c CODE ...``) in a fresh interpreter: its
    wall seconds and its peak resident memory in bytes (:data:`PEAK_LAUNCHER`). Its output
    goes to ``log`` (or ``stdout``); a failure raises with the output's end."""
    cwd.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        peak_file = Path(tmp, "peak")
        out = stack.enter_context(open(log, "wb")) if log is not None else stdout
        start = now()
        proc = subprocess.run([sys.executable, "-c", PEAK_LAUNCHER, str(peak_file), *args],
                              cwd=cwd, env=child_env(), stdout=out,
                              stderr=subprocess.STDOUT if log else None, check=False)
        seconds = now() - start
        if proc.returncode != 0:
            tail = log.read_text(errors="replace")[-3000:] if log is not None else ""
            raise RuntimeError(f"python {' '.join(args)} exited {proc.returncode}\n{tail}")
        return seconds, int(peak_file.read_text()) * 1024


def cli_fit(text: str, root: str, epochs: int, workdir: Path) -> tuple[float, int]:
    """Seconds and peak memory of ``python -m lightning_ref.fit`` fitting (and testing) the
    text's experiment for ``epochs`` epochs on ``root``, as a user runs it at a terminal: its
    progress bar drawn (into a file here), its TensorBoard logs, images, histograms and
    checkpoints written."""
    name, extra = CLI_EXPERIMENTS[text]
    return run_child(["-m", "lightning_ref.fit", name, "--data.root", root,
                      "--trainer.max_epochs", str(epochs),
                      "--trainer.enable_progress_bar", "true", *extra],
                     workdir / "cli", log=workdir / f"cli-{text}.log")


def cli_rows(root: str, shapes: Shapes, workdir: Path) -> dict[str, Any]:
    """The marginal cost of an epoch of the fit CLI, everything it does included: (the median
    run of N epochs minus the median run of 1) / (N - 1), the runs alternating, against the
    bare loop's epoch (the same steps and the same whole-set validations, :func:`bare_loop`)
    timed between them. Medians of whole runs, so that one run slowed by the machine moves
    the figure less than a mean would. ``peak_mb`` is the CLI's peak resident memory (its
    N-epoch runs), ``baseline_peak_mb`` this process's (holding the data module the bare
    loop runs on)."""
    out: dict[str, Any] = {}
    n = shapes.cli_epochs
    for text in CLI_EXPERIMENTS:
        loop = bare_loop(lightning_data(text, root), text)
        loop()  # warm-up
        longs, shorts, bares, peaks = [], [], [], []
        for _ in range(max(1, (shapes.repeats + 1) // 2)):
            long_run, peak = cli_fit(text, root, n, workdir)
            bares += [timed(loop) for _ in range(shapes.epochs - 1)]
            short_run, _ = cli_fit(text, root, 1, workdir)
            longs.append(long_run)
            shorts.append(short_run)
            peaks.append(peak)
        seconds = (statistics.median(longs) - statistics.median(shorts)) / (n - 1)
        bare = statistics.median(bares)
        out[text] = {"seconds": seconds, "baseline_seconds": bare, "ratio": seconds / bare,
                     "epochs": n, "experiment": CLI_EXPERIMENTS[text][0],
                     "run_seconds": {"long": longs, "short": shorts},
                     "peak_mb": max(peaks) / 2**20,
                     "baseline_peak_mb": own_peak() / 2**20}
    return out


# ----------------------------------------------------------------------------- 3. compare

COMPARE_EXPERIMENTS = {"dd2424": "dd2424/setting2", "tdt4265": "tdt4265/task3b"}
NUMPY_EPOCHS = {"dd2424": numpy_dd2424_epoch, "tdt4265": numpy_tdt4265_epoch}


def compare_rows(root: str, shapes: Shapes, workdir: Path) -> dict[str, Any]:
    """Seconds of a lockstep epoch against the two sides alone, all measured in this process
    with one BLAS and one torch thread, as ``python -m compare`` sets them: a ``run_parity``
    epoch (dd2424/setting2, tdt4265/task3b on the benchmark's files; a callback's clock, the
    first epoch dropped, as the lightning row) against the NumPy trainer's epoch of row 1
    plus an epoch of the same Lightning run without the comparison (compare's Trainer, logger
    and callbacks)."""
    import logging

    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    out: dict[str, Any] = {}
    for text, name in COMPARE_EXPERIMENTS.items():
        overrides = {"data.root": root, "trainer.max_epochs": shapes.epochs}
        if text == "tdt4265":  # random labels would stop it early (see LIGHTNING_SETTINGS)
            overrides["model.early_stopping_patience"] = 10**6

        numpy_epoch = NUMPY_EPOCHS[text](load(text, root, "float64"))
        numpy = [timed(numpy_epoch) for _ in range(shapes.epochs)][1:]
        del numpy_epoch  # its split
        lightning, both = [], []
        for _ in range(max(1, shapes.repeats // 2)):  # alternately, as paired() does
            lightning += lightning_alone(name, overrides, workdir / "alone")
            both += lockstep_epochs(name, overrides, workdir / "compare")
        alone = statistics.median(numpy) + statistics.median(lightning)
        seconds = statistics.median(both)
        out[text] = {"seconds": seconds, "baseline_seconds": alone, "ratio": seconds / alone,
                     "numpy_seconds": statistics.median(numpy),
                     "lightning_seconds": statistics.median(lightning)}
    return out


def lightning_alone(name: str, overrides: dict[str, Any], log_dir: Path) -> list[float]:
    """Seconds of each epoch but the first of compare's Lightning run of ``name`` without the
    comparison."""
    from pytorch_lightning.loggers import TensorBoardLogger

    from compare.parity.run import lightning_parts
    from numpy_impl.run.experiments import load_experiment

    clock = epoch_clock()
    exp = load_experiment(name, overrides)
    trainer, model, dm = lightning_parts(exp, [clock], TensorBoardLogger(str(log_dir), name=name))
    trainer.fit(model, datamodule=dm)
    return clock.seconds()[1:]


def lockstep_epochs(name: str, overrides: dict[str, Any], log_dir: Path) -> list[float]:
    """Seconds of each epoch but the first of ``run_parity(name)``."""
    from compare import run_parity

    clock = epoch_clock()
    run_parity(name, overrides, log_dir=str(log_dir), callbacks=[clock])
    return clock.seconds()[1:]


# ----------------------------------------------------------------------------- 4. data


def data_rows(root: str, shapes: Shapes) -> dict[str, Any]:
    """One CIFAR-10 batch read and normalised (DD2424 step 1-2), the MNIST training set read
    and preprocessed (TDT4265 task 1); the baseline is a plain read of the file's bytes."""
    from numpy_impl import data

    batch = Path(root) / "cifar-10-batches-py" / "data_batch_1"
    images = Path(root) / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"

    def cifar() -> None:
        X, _, _ = dd2424.load_batch(batch)
        dd2424.normalize(X, *dd2424.mean_std(X))

    def mnist() -> None:
        x, _ = data.load_mnist(root, train=True)
        tdt4265.pre_process_images(x)

    out = {"cifar_batch": paired(cifar, batch.read_bytes, shapes.repeats),
           "mnist_train": paired(mnist, images.read_bytes, shapes.repeats)}
    out["cifar_batch"]["images"] = shapes.cifar_per_batch
    out["mnist_train"]["images"] = shapes.mnist_train
    return out


# ----------------------------------------------------------------------------- 5. scaling


def scaling_rows(root: str, shapes: Shapes) -> dict[str, Any]:
    """NumPy DD2424 epochs (no validation set) at three n, three d and three batch sizes, each
    against its bound."""
    split = load("dd2424", root, "float64")
    d_full, n_full = split.X_train.shape
    points = {"n": [dict(n=n_full // 4), dict(n=n_full // 2), dict(n=n_full)],
              "d": [dict(d=d_full // 4), dict(d=d_full // 2), dict(d=d_full)],
              "batch": [dict(n_batch=50), dict(n_batch=100), dict(n_batch=200)]}
    out: dict[str, Any] = {}
    for axis, kwargs_list in points.items():
        for kwargs in kwargs_list:
            value = next(iter(kwargs.values()))
            out[f"{axis}={value}"] = paired(
                numpy_dd2424_epoch(split, validate=False, **kwargs),
                bound_dd2424_epoch(split, validate=False, **kwargs), shapes.repeats)
    return out


# ----------------------------------------------------------------------------- 6. start-up

CLIS = {
    "python -m compare --help": ["-m", "compare", "--help"],
    "python -m compare.check --help": ["-m", "compare.check", "--help"],
    "python -m numpy_impl --help": ["-m", "numpy_impl", "--help"],
    "python -m lightning_ref.fit --help": ["-m", "lightning_ref.fit", "--help"],
    "python -m compare.report --help": ["-m", "compare.report", "--help"],
    "import numpy_impl": ["-c", "import numpy_impl"],
}


def module_present(name: str) -> bool:
    """Whether this tree has the module (an editable install of another checkout can supply a
    submodule this tree lacks: that one does not count)."""
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        return False
    return spec is not None and spec.origin is not None and Path(spec.origin).resolve(
        ).is_relative_to(REPO)


def startup_rows(shapes: Shapes) -> dict[str, Any]:
    """Wall time of each command in a fresh interpreter, against ``python -c pass``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}

    def command(args: list[str]) -> Callable[[], Any]:
        return lambda: subprocess.run([sys.executable, *args], env=env, cwd=REPO,
                                      capture_output=True, check=True)
    out: dict[str, Any] = {}
    for label, args in CLIS.items():
        if args[0] == "-m" and not module_present(args[1]):
            out[label] = {"absent": True}
            continue
        out[label] = paired(command(args), command(["-c", "pass"]),
                            1 if shapes.quick else 3, warm_up=not shapes.quick)
    return out


# ----------------------------------------------------------------------------- 7. the checker

CHECKER_SUBMISSION = REPO / "tests" / "submissions" / "tdt4265" / "correct"
BATCH_SIZE = 20  # submissions in the grader's folder
SANDBOX_BATCH = 100  # submissions in the folder the sandbox's cost is measured on


def checker_rows(shapes: Shapes, workdir: Path) -> dict[str, Any]:
    """The checker on the correct TDT4265 hand-in of tests/submissions: one submission with
    every check (lockstep training included) against the same with ``quick`` (the function
    checks alone); a grader's folder of twenty copies with ``--quick --jobs`` (one per core)
    against the same folder one hand-in at a time (``--jobs 1``); and a folder of a hundred
    with ``--quick --jobs 2`` in the namespace sandbox against the same in the process sandbox
    (the cost of the namespaces, per hand-in: ``sandbox_seconds_per_handin``)."""
    from compare.check import check
    from compare.check.__main__ import main as check_cli
    from compare.check.sandbox import namespaces_work

    def folder_of(name: str, n: int) -> Path:
        folder = workdir / name
        for k in range(n):
            shutil.copytree(CHECKER_SUBMISSION, folder / f"student{k:03d}")
        return folder

    def batch(folder: Path, jobs: int, *extra: str) -> Callable[[], object]:
        return lambda: check_cli(["tdt4265", "--batch", str(folder), "--quick", "--jobs",
                                  str(jobs), "--out", str(workdir / "grades"), "--fresh",
                                  *extra])

    twenty = folder_of("handins", BATCH_SIZE if not shapes.quick else 4)
    rows = {
        "submission": paired(lambda: check("tdt4265", CHECKER_SUBMISSION),
                             lambda: check("tdt4265", CHECKER_SUBMISSION, quick=True),
                             shapes.repeats, warm_up=False),
        f"folder_of_{len(list(twenty.iterdir()))}": paired(
            batch(twenty, os.cpu_count() or 1), batch(twenty, 1), shapes.repeats,
            warm_up=False),
    }
    if namespaces_work():
        n = SANDBOX_BATCH if not shapes.quick else 4
        hundred = folder_of("hundred", n)
        row = paired(batch(hundred, 2, "--sandbox", "namespace"),
                     batch(hundred, 2, "--sandbox", "process"), shapes.repeats, warm_up=False)
        row["sandbox_seconds_per_handin"] = (row["seconds"] - row["baseline_seconds"]) * 2 / n
        rows[f"sandbox_{n}"] = row
    else:
        rows["sandbox"] = {"absent": True}
    return rows


# ----------------------------------------------------------------------------- everything


ROWS = ("numpy", "lightning", "cli", "compare", "data", "scaling", "startup", "checker",
        "threads")


def run_all(shapes: Shapes, data_root: str | None, rows: tuple[str, ...] = ROWS,
            progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Every row of ``rows``, each measured in a fresh interpreter (:func:`row_child`), so that
    every row's record holds the peak resident memory of the process that measured it
    (``peak_mb``; the cli rows: the fit CLI's own) and no row inherits another's memory."""
    from numpy_impl.run.threads import configure_threads

    threads = configure_threads()
    result: dict[str, Any] = {"quick": shapes.quick, "threads": threads,
                              "load_average": list(os.getloadavg()),
                              "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        root = data_root
        if root is None:
            root = str(workdir / "data")
            progress("writing the data files ...")
            write_data(Path(root), shapes)
        result["data_root"] = "written by the benchmark" if data_root is None else data_root
        for row in rows:
            progress(f"measuring {row} ...")
            start = now()
            figures, row_threads = measure_in_child(row, root, shapes, workdir)
            result.update(figures)
            result["threads"] = row_threads  # as set for the rows (torch's, once imported)
            progress(f"  {now() - start:.1f} s")
    result["load_average_after"] = list(os.getloadavg())
    return result


def _stderr() -> Any:
    """Where a row's child writes what it prints (Lightning's progress bars): this process's
    stderr where it has a file descriptor."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def measure_in_child(row: str, root: str, shapes: Shapes, workdir: Path
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``({row name: figures}, threads)`` of one row, measured by :func:`row_child` in a fresh
    interpreter; every record of the row gets ``peak_mb``, that interpreter's peak resident
    memory in MiB (unless the row measured a more specific one: the fit CLI's)."""
    request, answer = workdir / f"row-{row}.json", workdir / f"row-{row}-figures.json"
    request.write_text(json.dumps({
        "row": row, "root": root, "quick": shapes.quick, "workdir": str(workdir)}))
    _, peak = run_child(["-c", "import sys; from bench.core import row_child; "
                               "row_child(sys.argv[1], sys.argv[2])", str(request), str(answer)],
                        Path.cwd(), stdout=_stderr())
    done = json.loads(answer.read_text())
    for group in done["figures"].values():
        for figures in group.values():
            if not figures.get("absent"):
                figures.setdefault("peak_mb", peak / 2**20)
    return done["figures"], done["threads"]


def row_child(request: str, answer: str) -> None:
    """A row's child: measure the row that the JSON file ``request`` names, write its figures
    and the thread setting to ``answer``."""
    from numpy_impl.run.threads import configure_threads

    configure_threads()
    asked = json.loads(Path(request).read_text())
    with contextlib.redirect_stdout(sys.stderr):  # Lightning's progress bars
        figures = measure_row(asked["row"], asked["root"], Shapes(asked["quick"]),
                              Path(asked["workdir"]))
    Path(answer).write_text(json.dumps({"figures": figures, "threads": configure_threads()}))


def measure_row(row: str, root: str, shapes: Shapes, workdir: Path) -> dict[str, Any]:
    """``{row name: figures}`` of one row."""
    from numpy_impl.run.threads import configure_threads

    if row in ("lightning", "cli", "compare", "threads"):
        import torch  # noqa: F401 (so that configure_threads sets its pool too)

        configure_threads()
    if row == "numpy":
        return {row: numpy_rows(root, shapes)}
    if row == "lightning":
        return {row: lightning_rows(root, shapes, workdir)}
    if row == "cli":
        return {row: cli_rows(root, shapes, workdir)}
    if row == "compare":
        return {row: compare_rows(root, shapes, workdir)}
    if row == "data":
        return {row: data_rows(root, shapes)}
    if row == "scaling":
        return {row: scaling_rows(root, shapes)}
    if row == "startup":
        return {row: startup_rows(shapes)}
    if row == "checker":
        return {row: checker_rows(shapes, workdir)}
    comparison = thread_rows(root, shapes)
    configure_threads()
    return {"thread_comparison": comparison}
