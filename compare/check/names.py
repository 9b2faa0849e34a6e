"""Finding a hand-in's functions: the texts' names, their snake_case versions, earlier course
years' names, and ``--map ROLE=name`` (or ``ROLE=file:name``) for anything else.

A *role* is what the checker needs (``ApplyNetwork``, ``BinaryModel``, ``task2.calculate_accuracy``
...). TDT4265 roles live in the starter code's files; DD2424 roles are looked up across every
file of the hand-in. Calling conventions (argument order, a dict or separate W and b, rows or
columns) are settled where the role is called, by :func:`first_call`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

DD2424_ROLES: dict[str, tuple[str, ...]] = {
    "LoadBatch": ("LoadBatch", "load_batch", "loadBatch", "load_data"),
    "normalize": ("normalize", "Normalize", "normalise", "normalize_data", "preprocess",
                  "pre_process", "Preprocess"),
    "mean_std": ("mean_std", "compute_mean_std", "get_mean_std"),
    "ApplyNetwork": ("ApplyNetwork", "apply_network", "EvaluateClassifier", "evaluate_classifier",
                     "evaluateClassifier", "forward"),
    "ComputeLoss": ("ComputeLoss", "compute_loss", "computeLoss"),
    "ComputeCost": ("ComputeCost", "compute_cost", "computeCost"),
    "ComputeAccuracy": ("ComputeAccuracy", "compute_accuracy", "computeAccuracy"),
    "BackwardPass": ("BackwardPass", "backward_pass", "ComputeGradients", "compute_gradients",
                     "backwardPass"),
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


class NotFound(LookupError):
    """A role the hand-in does not define under any name looked for."""

    def __init__(self, role: str, names: Iterable[str], where: str) -> None:
        self.names = tuple(names)
        super().__init__(f"no {role} found: looked for {', '.join(self.names)} in {where} "
                         f"(--map {role}=NAME names another)")


@dataclass
class Found:
    """A role's object (a :class:`compare.check.session.Remote`, or a plain value such as an
    array of flip indices) and where it was found (``file.py: name``)."""

    obj: Any
    where: str


def parse_map(entries: Iterable[str]) -> dict[str, str]:
    """``["ApplyNetwork=my_forward", "batch_loader=helpers:make_batches"]`` -> a dict; raises
    ValueError on an entry without ``=``."""
    out = {}
    for entry in entries:
        role, sep, name = entry.partition("=")
        if not sep or not role.strip() or not name.strip():
            raise ValueError(f"--map {entry!r}: expected ROLE=name or ROLE=file:name")
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

    def find(self, role: str) -> Found:
        """The object playing ``role`` (see the module doc); NotFound or LoadError."""
        if self.assignment == "tdt4265":
            file, names = TDT4265_ROLES[role]
            files = [file] if file in self.files else []
        else:
            names, files = DD2424_ROLES[role], self.files
        if role in self.mapping:
            file, _, name = self.mapping[role].rpartition(":")
            names = (name,)
            files = [Path(file).stem] if file else (files or self.files)
        reply = self.call("find", files=files, names=list(names), any_value=role == "flip")
        if reply.get("found") is not None:
            return Found(reply["found"], str(reply["where"]))
        where = ", ".join(f"{f}.py" for f in files) or (
            f"{TDT4265_ROLES[role][0]}.py (missing)" if self.assignment == "tdt4265"
            else "no .py file")
        raise NotFound(role, names, where)


def first_call(func: Callable, candidates: list[tuple[str, Callable[[Callable], Any]]],
               accept: Callable[[Any], bool]) -> tuple[str, Any, list[str]]:
    """Try each ``(description, call)`` until one returns a result ``accept`` takes.

    Returns ``(description, result, errors)``; when none is accepted, the first candidate that
    returned anything (so that its result can be reported as a mismatch), else raises the first
    candidate's exception. ``errors`` lists what each failed candidate raised.
    """
    first: tuple[str, Any] | None = None
    errors: list[str] = []
    first_exc: BaseException | None = None
    for description, call in candidates:
        try:
            result = call(func)
        except Exception as e:  # noqa: BLE001 (any exception means: not this convention)
            errors.append(f"{description}: {getattr(e, 'type', type(e).__name__)}: {e}")
            first_exc = first_exc or e
            continue
        if accept(result):
            return description, result, errors
        if first is None:
            first = (description, result)
    if first is not None:
        return first[0], first[1], errors
    assert first_exc is not None
    raise first_exc
