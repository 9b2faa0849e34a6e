"""Step-for-step parity between the NumPy implementation and the Lightning reference.

``run_parity(experiment)`` trains one experiment definition with both sides from the same
initialization and the same batches, Lightning's Trainer driving, and compares after every
update the loss, the cost, every gradient and every parameter; at every validation the metrics;
at the end the early-stopping step, the restored weights and the test metrics. The first
element beyond the tolerance raises :class:`ParityError` with its :class:`Mismatch` (step,
quantity, element, both values, relative error). ``python -m compare EXPERIMENT`` prints the
table of errors and the verdict. SIGINT or SIGTERM pauses a run with a checkpoint of both sides
that ``run_parity(..., ckpt_path=...)`` (``--ckpt_path``) resumes (:mod:`compare.parity.pause`).

The names below are imported on first use, so that ``python -m compare --help`` and
``python -m compare.check`` start without loading torch and Lightning.
"""

from importlib import import_module
from typing import Any

_HOMES = {
    "NumpySide": "compare.parity.numpy_side", "NumpySideError": "compare.parity.numpy_side",
    "Mismatch": "compare.parity.findings", "ParityError": "compare.parity.findings",
    "ParityReport": "compare.parity.findings", "RUNS_DIR": "compare.parity.run",
    "run_parity": "compare.parity.run",
    "TOLERANCES": "compare.tolerance",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'compare' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)

__all__ = [
    "RUNS_DIR",
    "TOLERANCES",
    "Mismatch",
    "NumpySide",
    "NumpySideError",
    "ParityError",
    "ParityReport",
    "run_parity",
]
