"""Fixtures of the parity suite: a TensorBoard folder per test and small CIFAR-10 files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _fakes():  # noqa: ANN202 (tests/fakes.py, the writers of the real on-disk formats)
    spec = importlib.util.spec_from_file_location("compare_fakes", REPO / "tests" / "fakes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def cifar_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CIFAR-10's five training batches and test batch, 200 random images each, in the real
    pickle format under ``<root>/cifar-10-batches-py/``."""
    root = tmp_path_factory.mktemp("cifar")
    _fakes().write_cifar_root(root, n_per_batch=200, seed=0)
    return root


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"
