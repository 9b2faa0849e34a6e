"""Finding a hand-in's functions: the texts' names in any spelling, earlier course years' names,
methods of a hand-in's classes, and ``--map ROLE=name`` (or ``ROLE=file:name``,
``ROLE=Class.method``, ``ROLE=file:Class.method``) for anything else.

A *role* is what the checker needs (``ApplyNetwork``, ``BinaryModel``, ``task2.calculate_accuracy``
...). TDT4265 roles live in the starter code's files (the 2020 starter's task4a.py and task4.py
where a hand-in has no task3a.py or task3.py); DD2424 roles are looked up across every file of
the hand-in. Names match in any spelling (:func:`normalise`: ``ComputeGradients``,
``compute_gradients`` and ``computeGradients`` are one name). A DD2424 role no function plays
may be a method of a class of the hand-in's (``Classifier.ComputeCost``), called on an instance
the worker makes (its own constructor, fed the checker's data by its parameter names, or none)
with the checker's network set on it. Calling conventions (argument order, a dict or separate
W and b, rows or columns, the hand-in's own parameter names) are settled where the role is
called, by :func:`first_call`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compare.check.session import HandInRaised

# role -> (starter file, names looked for in it)
TDT4265_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "pre_process_images": ("task2a", ("pre_process_images", "preprocess_images")),
    "binary_cross_entropy_loss": ("task2a", ("cross_entropy_loss", "binary_cross_entropy_loss")),
    "BinaryModel": ("task2a", ("BinaryModel",)),
    "binary_accuracy": ("task2", ("calculate_accuracy", "binary_accuracy")),
    "LogisticTrainer": ("task2", ("LogisticTrainer",)),
    "cross_entropy_loss": ("task3a", ("cross_entropy_loss",)),
    "SoftmaxModel": ("task3a", ("SoftmaxModel",)),
    "one_hot_encode": ("task3a", ("one_hot_encode", "one_hot")),
    "accuracy": ("task3", ("calculate_accuracy", "accuracy")),
    "SoftmaxTrainer": ("task3", ("SoftmaxTrainer",)),
    "batch_loader": ("utils", ("batch_loader",)),
}

# the 2020 starter code's files for what later years moved (SoftmaxModel, one_hot_encode and
# cross_entropy_loss were in task4a.py, the softmax calculate_accuracy in task4.py)
TDT4265_EARLIER_FILES: dict[str, tuple[str, ...]] = {"task3a": ("task4a",), "task3": ("task4",)}

# role -> names looked for, in order of preference; each in any spelling (:func:`normalise`).
# Earlier course years' names (EvaluateClassifier, ComputeGradients, ...) and those seen in
# public hand-ins of 2018-2025: loading_batch, preprocess_data (Normalize(trainX, valX, testX)),
# forward_pass, evaluate (a class's forward pass), compute_grad(s), ComputeGradientsAnalytical,
# compute_acc.
DD2424_ROLES: dict[str, tuple[str, ...]] = {
    "LoadBatch": ("LoadBatch", "load_batch", "loadBatch", "load_data", "loading_batch"),
    "normalize": ("normalize", "Normalize", "normalise", "normalize_data", "normalise_data",
                  "preprocess", "pre_process", "Preprocess", "preprocess_data"),
    "mean_std": ("mean_std", "compute_mean_std", "get_mean_std"),
    "ApplyNetwork": ("ApplyNetwork", "apply_network", "EvaluateClassifier", "evaluate_classifier",
                     "evaluateClassifier", "forward", "forward_pass", "evaluate"),
    "ComputeLoss": ("ComputeLoss", "compute_loss", "computeLoss"),
    "ComputeCost": ("ComputeCost", "compute_cost", "computeCost"),
    "ComputeAccuracy": ("ComputeAccuracy", "compute_accuracy", "computeAccuracy", "compute_acc"),
    "BackwardPass": ("BackwardPass", "backward_pass", "ComputeGradients", "compute_gradients",
                     "backwardPass", "compute_grads", "compute_grad",
                     "ComputeGradientsAnalytical"),
    "MiniBatchGD": ("MiniBatchGD", "mini_batch_gd", "minibatch_gd", "MiniBatchGd"),
    "flip": ("flip_images", "FlipImages", "flip", "flip_batch", "flip_indices", "FlipIndices",
             "get_flip_indices", "inds_flip"),
    "ApplyNetworkSigmoid": ("ApplyNetworkSigmoid", "apply_network_sigmoid", "ApplyNetworkBCE",
                            "apply_network_bce", "EvaluateClassifierSigmoid"),
    "multiple_bce_loss": ("ComputeLossMultipleBCE", "compute_loss_multiple_bce",
                          "multiple_bce_loss", "ComputeLossBCE", "compute_loss_bce",
                          "ComputeMultipleBCELoss", "multiple_binary_cross_entropy"),
    "multiple_bce_gradient": ("BackwardPassMultipleBCE", "backward_pass_multiple_bce",
                              "BackwardPassBCE", "backward_pass_bce", "ComputeGradientsBCE",
                              "ComputeGradientsMultipleBCE", "compute_gradients_bce"),
}


def normalise(name: str) -> str:
    """A name as roles are matched: lowercase, underscores removed (ComputeGradients,
    compute_gradients and computeGradients are one name). The worker applies the same rule."""
    return name.lower().replace("_", "")


class NotFound(LookupError):
    """A role the hand-in does not define under any name looked for."""

    def __init__(self, role: str, names: Iterable[str], where: str) -> None:
        self.names = tuple(names)
        super().__init__(f"no {role} found: looked for {', '.join(self.names)} in {where} "
                         f"(--map {role}=NAME names another)")


@dataclass
class Found:
    """A role's object (a :class:`compare.check.session.Remote`, or a plain value such as an
    array of flip indices) and where it was found (``file.py: name``; for a method, how its
    instance was made and what is set on it: ``a1.py: Classifier().ComputeCost (self.W and
    self.b set to the checker's before each call)``); ``method``: a bound method."""

    obj: Any
    where: str
    method: bool = False


def parse_map(entries: Iterable[str]) -> dict[str, str]:
    """``["ApplyNetwork=my_forward", "batch_loader=helpers:make_batches",
    "ApplyNetwork=Classifier.forward"]`` -> a dict (``Class.method``: the method of an instance
    of the class, made as :mod:`compare.check.worker` makes one); raises ValueError on an entry
    without ``=``."""
    out = {}
    for entry in entries:
        role, sep, name = entry.partition("=")
        if not sep or not role.strip() or not name.strip():
            raise ValueError(f"--map {entry!r}: expected ROLE=name, ROLE=file:name or "
                             "ROLE=Class.method")
        out[role.strip()] = name.strip()
    return out


class Submission:
    """One hand-in, as the checks see it: its roles found in the worker by name."""

    def __init__(self, session: Any, assignment: str,
                 mapping: dict[str, str] | None = None) -> None:
        self.session = session
        self.assignment = assignment
        self.mapping = dict(mapping or {})
        self.files = list(session.files)

    def call(self, op: str, **args: Any) -> Any:
        """A request to the hand-in's worker (see :mod:`compare.check.worker`)."""
        return self.session.call(op, **args)

    def find(self, role: str, data: dict[str, Any] | None = None,
             skip: Iterable[str] = ()) -> Found:
        """The object playing ``role`` (see the module doc); NotFound or LoadError. ``data``:
        the checker's values a DD2424 class's constructor may take by its parameter names (X,
        Y, y, W, b, net, lam, eta, K, d, ...); ``skip``: names not to take again."""
        if self.assignment == "tdt4265":
            file, names = TDT4265_ROLES[role]
            if file not in self.files:
                file = next((f for f in TDT4265_EARLIER_FILES.get(file, ()) if f in self.files),
                            file)
            files = [file] if file in self.files else []
        else:
            names, files = DD2424_ROLES[role], self.files
        if role in self.mapping:
            file, _, name = self.mapping[role].rpartition(":")
            names = (name,)
            files = [Path(file).stem] if file else (files or self.files)
        dd2424 = self.assignment == "dd2424"
        reply = self.call("find", files=files, names=list(names), any_value=role == "flip",
                          normalised=True, methods=dd2424, classes=not dd2424,
                          data=data if dd2424 else None, skip=list(skip))
        if reply.get("found") is not None:
            return Found(reply["found"], str(reply["where"]), bool(reply.get("method")))
        where = ", ".join(f"{f}.py" for f in files) or (
            f"{TDT4265_ROLES[role][0]}.py (missing)" if self.assignment == "tdt4265"
            else "no .py file")
        raise NotFound(role, names, where)


class NoCallFits(HandInRaised):
    """Every call tried raised: the first error, then the calls tried (those that raised alike
    together, each group with what it raised) and the hand-in's own signature, capped (no
    array is ever shown whole)."""

    def __init__(self, first: BaseException, tried: list[tuple[str, str]], signature: str
                 ) -> None:
        head = (first.describe() if isinstance(first, HandInRaised)
                else f"{type(first).__name__}: {str(first)[:300]}")
        alike: dict[str, list[str]] = {}
        for call, raised in tried:
            alike.setdefault(raised, []).append(call)
        text = "; ".join(f"{raised} from {', '.join(calls)}" for raised, calls in alike.items())
        if len(text) > 900:
            text = text[:900] + f"... ({len(tried)} calls in all)"
        sig = f"; its signature: {signature[:300]}" if signature else ""
        super().__init__(getattr(first, "type", type(first).__name__),
                         f"{head} (no call fits{sig}; tried: {text})", "",
                         getattr(first, "function", ""), getattr(first, "line", ""))

    def describe(self) -> str:
        return self.message


def first_call(func: Callable, candidates: list[tuple[str, Callable[[Callable], Any]]],
               accept: Callable[[Any], bool], signature: str = "") -> tuple[str, Any, list[str]]:
    """Try each ``(description, call)`` until one returns a result ``accept`` takes.

    Returns ``(description, result, errors)``; when none is accepted, the first candidate that
    returned anything (so that its result can be reported as a mismatch), else raises
    :class:`NoCallFits` (its first error, the calls tried and ``signature``, the hand-in's own).
    ``errors`` lists what each failed candidate raised.
    """
    first: tuple[str, Any] | None = None
    failures: list[tuple[str, str]] = []
    first_exc: BaseException | None = None
    for description, call in candidates:
        try:
            result = call(func)
        except Exception as e:  # noqa: BLE001 (any exception means: not this convention)
            said = e.message if isinstance(e, HandInRaised) else str(e)
            failures.append((description, f"{getattr(e, 'type', type(e).__name__)}: "
                                          f"{said[:120]}"))
            first_exc = first_exc or e
            continue
        try:
            accepted = accept(result)
        except (TypeError, ValueError, IndexError, KeyError):  # not a value of the right kind
            accepted = False
        if accepted:
            return description, result, [f"{d}: {e}" for d, e in failures]
        if first is None:
            first = (description, result)
    if first is not None:
        return first[0], first[1], [f"{d}: {e}" for d, e in failures]
    assert first_exc is not None
    if len(failures) == 1:
        raise first_exc
    raise NoCallFits(first_exc, failures, signature)
