"""The hand-in's side of ``compare.check``: a small server that loads the hand-in and runs what
the grader asks, returning plain values. It decides nothing.

It runs in the sandbox (:mod:`compare.check.sandbox`) as a script, next to copies of
``wire.py`` and ``loader.py``, and imports nothing of the project: the project's packages are
not even visible in the namespace sandbox, and an import of them raises ImportError here. Every
request is one message from the grader (:mod:`compare.check.wire`), every reply one message
back: ``{"value": ...}``, ``{"raised": {...}}`` (the hand-in raised), ``{"load_error": ...}``
or ``{"bad_request": ...}``. Objects that are not plain values stay here as handles.

Besides calls, attribute reads and writes, a few *probes* drive the hand-in the way a check
needs and only record what it does (the scripted trainer of the early-stopping check, the
recording trainer of the lockstep training, MiniBatchGD with its gradient function wrapped):
the grader compares the records with the reference.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import inspect
import os
import pickle
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = ("numpy_impl", "lightning_ref", "compare", "bench")


def _private(name: str):  # noqa: ANN202
    """``HERE/name.py`` as a module under a name no hand-in file can take."""
    spec = importlib.util.spec_from_file_location(f"_checker_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


wire = _private("wire")
loader = _private("loader")
import numpy as np  # noqa: E402 (after the checker's own modules, which need it too)


class ProjectBlocker(importlib.abc.MetaPathFinder):
    """The project's packages are the reference: a hand-in may not import them."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001 (importlib's API)
        if fullname.split(".")[0] in PROJECT:
            raise ImportError(f"a hand-in may not import {fullname}: the checker's own "
                              f"packages ({', '.join(PROJECT)}) are out of its reach")
        return None


class Worker:
    """The loaded hand-in and the objects handed out by number."""

    def __init__(self, files: list[str], exec_all: bool) -> None:
        self.folder = Path.cwd()
        self.finder = loader.install(self.folder, exec_all)
        self.files = files
        self.errors: dict[str, str] = {}
        self.objects: dict[int, object] = {}

    # ---------------------------------------------------------------- values and handles

    def out(self, value: object) -> object:
        """``value`` as plain values where it can be, handles for the rest."""
        if value is None or isinstance(value, bool | int | float | str | np.ndarray | np.generic):
            if isinstance(value, np.ndarray | np.generic) and value.dtype.kind not in "biuf":
                return self.handle(value)
            return value
        if isinstance(value, tuple):
            return tuple(self.out(v) for v in value)
        if isinstance(value, list):
            return [self.out(v) for v in value]
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {k: self.out(v) for k, v in value.items()}
        if not callable(value) and not isinstance(value, type) and hasattr(value, "__array__"):
            try:  # a tensor, np.matrix, ...: its numbers (nothing here to read but inputs)
                array = np.asarray(value)
                if array.dtype.kind in "biuf":
                    return np.array(array)
            except Exception:  # noqa: BLE001, S110 (then it stays here as a handle)
                pass
        return self.handle(value)

    def handle(self, value: object) -> wire.Handle:
        self.objects[id(value)] = value
        return wire.Handle(id(value))

    def inp(self, value: object) -> object:
        """A request's value with handles replaced by their objects."""
        if isinstance(value, wire.Handle):
            return self.objects[value.id]
        if isinstance(value, tuple):
            return tuple(self.inp(v) for v in value)
        if isinstance(value, list):
            return [self.inp(v) for v in value]
        if isinstance(value, dict):
            return {k: self.inp(v) for k, v in value.items()}
        return value

    # ---------------------------------------------------------------- requests

    def module(self, name: str) -> object:
        if name not in self.errors:
            try:
                return self.finder.load(name).module
            except BaseException as e:  # noqa: BLE001 (SystemExit too)
                self.errors[name] = f"loading {name}.py raised {_describe(e)}{self.where(e)}"
        raise LoadFailed(self.errors[name])

    def where(self, error: BaseException) -> str:
        frames = [f for f in traceback.extract_tb(error.__traceback__)
                  if f.filename.startswith(str(self.folder))]
        return f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""

    def op_find(self, files: list[str], names: list[str], any_value: bool) -> object:
        for file in files:
            if file not in self.finder.files:
                continue
            module = self.module(file)
            for name in names:
                obj = getattr(module, name, None)
                if obj is not None and (callable(obj) or any_value):
                    return {"found": self.out(obj), "where": f"{file}.py: {name}"}
        return {"found": None, "present": [f for f in files if f in self.finder.files]}

    def op_call(self, target: object, args: list, kwargs: dict) -> object:
        return self.out(target(*args, **kwargs))

    def op_getattr(self, target: object, name: str) -> object:
        return self.out(getattr(target, name))

    def op_setattr(self, target: object, name: str, value: object) -> object:
        setattr(target, name, value)
        return None

    def op_new(self, cls: type) -> object:
        return self.out(cls.__new__(cls))

    def op_parameters(self, target: object) -> object:
        return list(inspect.signature(target).parameters)

    def op_global_name(self, func: object, names: list[str]) -> object:
        """The first of ``names`` that ``func``'s module defines."""
        namespace = getattr(func, "__globals__", {})
        return next((n for n in names if n in namespace), None)

    def op_notes(self) -> object:
        return [n for m in self.finder.loaded.values() for n in m.notes()]

    # ---------------------------------------------------------------- probes

    def op_batches(self, func: object, X: np.ndarray, Y: np.ndarray, bs: int,
                   kwargs: dict) -> object:
        """Every batch of a batch_loader, passing only the keyword arguments it takes."""
        params = inspect.signature(func).parameters
        kwargs = {k: v for k, v in kwargs.items() if k in params}
        return [(np.array(a), np.array(b)) for a, b in func(X, Y, bs, **kwargs)]

    def op_accuracy(self, func: object, X: np.ndarray, targets: np.ndarray,
                    outputs: np.ndarray) -> object:
        return self.out(func(X, targets, Fixed(outputs)))

    def op_load_batch(self, func: object, data: np.ndarray, labels: list[int]) -> object:
        """LoadBatch on a file in CIFAR-10's format (a pickle this process writes itself)."""
        folder = Path(os.environ.get("TMPDIR", ".")) / "cifar-10-batches-py"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "data_batch_1"
        with path.open("wb") as f:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": b"b"}, f)
        return self.out(func(str(path)))

    def op_early_stopping(self, base: type, script: list[float], later: float,
                          inputs: int, batches: int, epochs: int) -> object:
        """The hand-in's trainer with train_step and validation_step replaced: validation
        losses as scripted; each step marks the weights with its number."""
        seen: list[tuple[float, float]] = []

        class Scripted(base):  # type: ignore[misc, valid-type]
            def train_step(self, X_batch, Y_batch):  # noqa: ANN001, ANN202
                self.model.w = np.full_like(self.model.w, len(seen) + 1.0)
                return 0.0

            def validation_step(self):  # noqa: ANN202
                loss = script[len(seen)] if len(seen) < len(script) else later
                seen.append((loss, float(np.asarray(self.model.w).reshape(-1)[0])))
                return loss, 0.5, 0.5

        bs = 8
        X = np.zeros((batches * bs, inputs))
        Y = np.zeros((batches * bs, 1))
        trainer = Scripted(ScriptedModel(inputs), 0.1, bs, False, X, Y, X, Y)
        trainer.train(epochs)
        return {"seen": seen, "w_end": float(np.asarray(trainer.model.w).reshape(-1)[0])}

    def op_record_trainer(self, base: type, model: object, lr: float, bs: int, shuffle: bool,
                          X: np.ndarray, Y: np.ndarray, Xv: np.ndarray, Yv: np.ndarray,
                          steps: int) -> object:
        """The hand-in's trainer, each train_step's batch, loss and weights after it recorded,
        stopped after ``steps`` steps."""
        recorded: list[dict] = []

        class Recording(base):  # type: ignore[misc, valid-type]
            def train_step(self, X_batch, Y_batch):  # noqa: ANN001, ANN202
                if len(recorded) >= steps:
                    raise Enough
                loss = super().train_step(X_batch, Y_batch)
                recorded.append({"X": np.array(X_batch), "Y": np.array(Y_batch),
                                 "loss": self_out(loss),
                                 "w": np.array(self.model.w, dtype=np.float64)})
                return loss

        self_out = self.out
        trainer = Recording(model, lr, bs, shuffle, X, Y, Xv, Yv)
        try:
            trainer.train(1000)
        except Enough:
            pass
        return recorded

    def op_record_minibatch(self, mbgd: object, grad_name: str, X: np.ndarray, Y: np.ndarray,
                            init: dict, params: dict, shuffle: bool, lam: float) -> object:
        """MiniBatchGD with its gradient function (``grad_name`` in its module) wrapped by a
        recorder of each call's X, Y and network; tried in the text's layout and transposed,
        with and without a shuffle flag and an rng, until one runs."""
        namespace = mbgd.__globals__
        original = namespace[grad_name]
        calls: list[list] = []

        def recorder(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            values = [*args, *kwargs.values()]
            calls.append([_copy(values[0]), _copy(values[1]),
                          [_copy(v) for v in values[2:] if isinstance(v, dict | np.ndarray)]])
            return original(*args, **kwargs)

        namespace[grad_name] = recorder
        rng = np.random.default_rng(42)
        attempts = [({**params, "shuffle": shuffle}, (rng,)), ({**params, "shuffle": shuffle}, ()),
                    (params, (rng,)), (params, ())]
        error: Exception | None = None
        try:
            for rows in (False, True):
                XX, YY = (X.T, Y.T) if rows else (X, Y)
                net0 = {k: v.T.copy() for k, v in init.items()} if rows else init
                for gd, extra in attempts:
                    state = rng.bit_generator.state
                    try:
                        out = mbgd(XX.copy(), YY.copy(), dict(gd), _copy(net0), lam, *extra)
                    except (TypeError, KeyError, ValueError) as e:
                        rng.bit_generator.state = state
                        calls.clear()
                        error = error or e
                        continue
                    net = out[0] if isinstance(out, tuple) else out
                    return {"calls": calls, "trained": self.out(net), "rows": rows}
        finally:
            namespace[grad_name] = original
        raise error  # type: ignore[misc]


class Enough(Exception):
    """Raised inside the hand-in's training loop once enough steps are recorded."""


class LoadFailed(Exception):
    """A file of the hand-in raised while loading."""


class Fixed:
    """A model whose forward returns fixed outputs, to drive calculate_accuracy."""

    def __init__(self, outputs: np.ndarray) -> None:
        self.outputs = outputs
        self.w = np.zeros((outputs.shape[1], outputs.shape[1]))

    def forward(self, X: np.ndarray) -> np.ndarray:
        return self.outputs.copy()


class ScriptedModel:
    """What the trainer sees when driven with scripted validations."""

    def __init__(self, inputs: int) -> None:
        self.w = np.zeros((inputs, 1))
        self.grad = np.zeros_like(self.w)
        self.l2_reg_lambda = 0.0

    def forward(self, X: np.ndarray) -> np.ndarray:
        return np.full((len(X), 1), 0.5)

    def backward(self, X: np.ndarray, outputs: np.ndarray, targets: np.ndarray) -> None:
        self.grad = np.zeros_like(self.w)

    def zero_grad(self) -> None:
        self.grad = None


def _copy(value: object) -> object:
    if isinstance(value, dict):
        return {k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in value.items()}
    return np.array(value) if isinstance(value, np.ndarray) else value


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def serve(requests, replies) -> None:  # noqa: ANN001 (binary files)
    """Answer requests until the channel closes (the grader ends this process)."""
    config = wire.read_message(requests)
    if config.get("quiet_matplotlib"):
        loader.quiet_matplotlib()
        import matplotlib.backends.backend_agg  # noqa: F401 (before the uid may change)
    if config.get("uid") is not None:  # process mode as root: a uid of its own from here on
        os.setgroups([])
        os.setgid(config["uid"])
        os.setuid(config["uid"])
    worker = Worker(config["files"], config["exec_all"])
    wire.write_message(replies, {"value": "ready"})
    while True:
        try:
            request = wire.read_message(requests)
        except EOFError:
            return
        op = getattr(worker, f"op_{request.get('op')}", None) if isinstance(request, dict) \
            else None
        if op is None:
            reply: dict = {"bad_request": f"unknown request {str(request)[:80]}"}
        else:
            try:
                reply = {"value": op(**worker.inp(request.get("args", {})))}
            except LoadFailed as e:
                reply = {"load_error": str(e)}
            except BaseException as e:  # noqa: BLE001 (anything the hand-in raises is reported)
                reply = {"raised": {"type": type(e).__name__, "message": str(e)[:2000],
                                    "where": worker.where(e),
                                    "exit": isinstance(e, SystemExit),
                                    "base": not isinstance(e, Exception),
                                    "code": str(getattr(e, "code", ""))[:100]}}
        try:
            wire.write_message(replies, reply)
        except wire.WireError as e:
            wire.write_message(replies, {"unsendable": str(e)})


def main() -> None:
    # the channel: the grader's pipes on 0 and 1, moved out of the hand-in's way; what the
    # hand-in prints goes nowhere
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    sys.meta_path.insert(0, ProjectBlocker())
    for name in PROJECT:
        sys.modules.pop(name, None)
    serve(requests, replies)


if __name__ == "__main__":
    main()
