"""Step-for-step parity between the NumPy implementation and the Lightning reference.

``run_parity(experiment)`` trains one experiment definition with both sides from the same
initialization and the same batches, Lightning's Trainer driving, and compares after every
update the loss, the cost, every gradient and every parameter; at every validation the metrics;
at the end the early-stopping step, the restored weights and the test metrics. The first
element beyond the tolerance raises :class:`ParityError` with its :class:`Mismatch` (step,
quantity, element, both values, relative error). ``python -m compare EXPERIMENT`` prints the
table of errors and the verdict.
"""

from compare.numpy_side import NumpySide, NumpySideError
from compare.parity_report import Mismatch, ParityError, ParityReport
from compare.run import RUNS_DIR, run_parity
from compare.tolerance import TOLERANCES

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
