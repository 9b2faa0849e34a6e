"""One thread for BLAS and torch: right for these sizes, chosen by measurement.

The products here are small (a batch is 10 x 3,072 x 100 or 128 x 785 x 10), so a second
thread costs more in hand-offs than it gains, and on a shared two-core machine it waits for a
core: ``python -m bench`` measures one thread against two for the NumPy trainers (OpenBLAS)
and a bare PyTorch loop (torch's intra-op pool), see docs/performance.md.

:func:`configure_threads` is called by every entry point that trains (the CLIs' ``main``,
``python -m bench``). It sets OpenBLAS's pool through threadpoolctl when that is installed,
and torch's only where torch is already imported (it never imports torch itself, so the NumPy
side stays free of it). ``PARITY_THREADS`` in the environment overrides the number.
"""

from __future__ import annotations

import os
import sys

import numpy  # noqa: F401 (loads OpenBLAS, so that threadpoolctl finds the pool to limit)

DEFAULT_THREADS = 1
ENV_VARIABLE = "PARITY_THREADS"


def configure_threads(threads: int | None = None) -> dict[str, int | None]:
    """Limit BLAS (and torch, if imported) to ``threads`` (default: ``$PARITY_THREADS`` or 1).

    Returns what was set: ``{"threads": n, "blas": n or None, "torch": n or None}`` (None
    where that library was not configured)."""
    if threads is None:
        threads = int(os.environ.get(ENV_VARIABLE, DEFAULT_THREADS))
    set_blas = None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without threadpoolctl: OPENBLAS_NUM_THREADS before start-up
        pass
    else:
        threadpool_limits(limits=threads, user_api="blas")
        set_blas = threads
    set_torch = None
    torch = sys.modules.get("torch")
    if torch is not None:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        set_torch = threads
    return {"threads": threads, "blas": set_blas, "torch": set_torch}
