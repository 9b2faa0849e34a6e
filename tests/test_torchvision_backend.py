"""``--data.backend torchvision``: MNIST and CIFAR-10 read through torchvision.datasets equal the
project's own readers bit for bit, and so do the splits built from them.

The real comparisons need the optional extra (``pytest.importorskip("torchvision")``). Where
it is absent, a stub with torchvision's documented dataset attributes (MNIST: ``data`` uint8
N x 28 x 28 and ``targets`` int64 tensors; CIFAR10: ``data`` uint8 N x 32 x 32 x 3 from the
stored rows, ``targets`` a list) checks the conversions and the plumbing, and the backend's
missing-package error is checked."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from lightning_ref.data import ExperimentDataModule, torchvision_cifar10, torchvision_mnist
from numpy_impl import data
from tests.fakes import write_cifar_root, write_idx

HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None
REAL_CIFAR = Path(__file__).resolve().parent.parent / "data"


def write_mnist_raw(root: Path, n_train: int = 300, n_test: int = 120) -> None:
    """MNIST as torchvision leaves it after a download: un-gzipped IDX files in MNIST/raw."""
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        raw = root / "MNIST" / "raw"
        write_idx(raw / f"{prefix}-images-idx3-ubyte",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), compress=False)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte",
                  rng.permutation(np.arange(n) % 10).astype(np.uint8), compress=False)


def assert_same_split(root: Path, dataset: str, split: str, **kwargs) -> None:
    """The data module's split through both backends: equal arrays, bit for bit."""
    parts = []
    for backend in ("numpy", "torchvision"):
        dm = ExperimentDataModule(dataset, split, root=str(root), backend=backend,
                                  **{"batch_size": 100, **kwargs})
        dm.setup("fit")
        parts.append(dm.split)
    for name in ("X_train", "Y_train", "X_val", "Y_val", "X_test", "Y_test"):
        a, b = (getattr(s, name) for s in parts)
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def assert_same_arrays(got: tuple[np.ndarray, np.ndarray],
                       expected: tuple[np.ndarray, np.ndarray]) -> None:
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------ real torchvision


def test_mnist_through_torchvision(tmp_path: Path) -> None:
    pytest.importorskip("torchvision")
    write_mnist_raw(tmp_path)
    for train in (True, False):
        assert_same_arrays(torchvision_mnist(str(tmp_path), train),
                           data.load_mnist(tmp_path, train))
    assert_same_split(tmp_path, "mnist", "tdt4265")
    assert_same_split(tmp_path, "mnist", "dd2424_all", val_size=50)


def test_cifar10_through_torchvision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torchvision = pytest.importorskip("torchvision")
    write_cifar_root(tmp_path, n_per_batch=40, seed=2)
    # Generated batches cannot match the published md5s that torchvision checks; everything
    # after that check (unpickling, its HWC reshape, our inverse) is the real code.
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args: True)
    got, expected = torchvision_cifar10(str(tmp_path)), data.load_cifar10(tmp_path)
    assert list(got) == list(expected)
    for name in expected:
        assert_same_arrays(got[name], expected[name])
    assert_same_split(tmp_path, "cifar10", "dd2424")


@pytest.mark.skipif(not (REAL_CIFAR / "cifar-10-batches-py").is_dir(),
                    reason="the real CIFAR-10 is not under data/")
def test_real_cifar10_through_torchvision() -> None:
    pytest.importorskip("torchvision")
    got, expected = torchvision_cifar10(str(REAL_CIFAR)), data.load_cifar10(REAL_CIFAR)
    for name in expected:
        assert_same_arrays(got[name], expected[name])


# ------------------------------------------------------------------------------ without it


@pytest.mark.skipif(HAS_TORCHVISION, reason="torchvision is installed")
def test_backend_without_torchvision_says_how_to_install(tmp_path: Path) -> None:
    write_mnist_raw(tmp_path)
    dm = ExperimentDataModule("mnist", "tdt4265", 100, root=str(tmp_path), backend="torchvision")
    with pytest.raises(ImportError, match=r"torchvision\]"):
        dm.setup("fit")


@pytest.fixture
def stub_torchvision(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in for torchvision.datasets holding what the real classes hold."""

    class MNIST:
        def __init__(self, root: str, train: bool = True, download: bool = False) -> None:
            images, labels = data.load_mnist(root, train)
            self.data = torch.from_numpy(images.reshape(-1, 28, 28).copy())
            self.targets = torch.from_numpy(labels)

    class CIFAR10:
        def __init__(self, root: str, train: bool = True, download: bool = False) -> None:
            batches = data.load_cifar10(root)
            names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
            rows = np.vstack([batches[n][0] for n in names])
            self.data = rows.reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))  # torchvision's
            self.targets = [int(y) for n in names for y in batches[n][1]]

    package = types.ModuleType("torchvision")
    package.datasets = types.SimpleNamespace(MNIST=MNIST, CIFAR10=CIFAR10)
    monkeypatch.setitem(sys.modules, "torchvision", package)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", package.datasets)


def test_conversions_with_torchvisions_layout(tmp_path: Path, stub_torchvision: None) -> None:
    write_mnist_raw(tmp_path)
    write_cifar_root(tmp_path, n_per_batch=30, seed=3)
    for train in (True, False):
        assert_same_arrays(torchvision_mnist(str(tmp_path), train),
                           data.load_mnist(tmp_path, train))
    got, expected = torchvision_cifar10(str(tmp_path)), data.load_cifar10(tmp_path)
    assert list(got) == list(expected)
    for name in expected:
        assert_same_arrays(got[name], expected[name])
    assert_same_split(tmp_path, "mnist", "tdt4265_binary")
    assert_same_split(tmp_path, "cifar10", "dd2424_all", val_size=20)
