"""Small datasets written in the real on-disk formats (IDX gz, CIFAR-10 pickles), for tests.

Each writer puts its files where torchvision (and numpy_impl.data) look for them and returns
the arrays exactly as the loaders should give them back.
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
import tempfile
from pathlib import Path

import numpy as np

CIFAR10_LABEL_NAMES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip


def write_idx(path: str | Path, array: np.ndarray, compress: bool = True) -> Path:
    """Write a uint8 array as an IDX file (magic 0x0000 08 <ndim>, big-endian uint32 dims)."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.tobytes()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


def _digits(rng: np.random.Generator, n: int) -> np.ndarray:
    """n labels in 0..9 covering every digit (when n >= 10), in random order."""
    return rng.permutation(np.arange(n) % 10).astype(np.int64)


def write_mnist_root(
    root: str | Path, n_train: int, n_test: int, seed: int = 0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write the four MNIST .gz files under ``<root>/MNIST/raw/``.

    Returns {"train": (images, labels), "test": (images, labels)} with images uint8 (N, 784)
    and labels int64 (N,), i.e. what ``load_mnist`` should return.
    """
    rng = np.random.default_rng(seed)
    raw = Path(root) / "MNIST" / "raw"
    out = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = _digits(rng, n)
        write_idx(raw / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte.gz", labels)
        out[split] = (images.reshape(n, 784), labels)
    return out


class _Py2Pickler(pickle._Pickler):  # the pure-Python pickler, so its opcodes can be swapped
    """Writes what Python 2's cPickle wrote for the real CIFAR-10 batches (protocols 0-2).

    Python 2's ``str`` is bytes and goes out as STRING / BINSTRING (Python 3 has no such type
    and writes bytes as ``_codecs.encode(...)``), and NumPy 1 named ``numpy.core.multiarray``.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj: str | bytes) -> None:
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if self.proto == 0:
            self.write(pickle.STRING + repr(data)[1:].encode("ascii") + b"\n")
        elif len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = save_py2_str
    dispatch[bytes] = save_py2_str

    def save_global(self, obj: object, name: str | None = None) -> None:
        module = obj.__module__.replace("numpy._core", "numpy.core")
        name = name or obj.__qualname__
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("ascii"))
        self.memoize(obj)


def cifar_pickle_bytes(obj: object, protocol: int = 2, py2_style: bool = True) -> bytes:
    """Pickle ``obj`` as Python 2 would (protocol <= 2 and py2_style) or as Python 3 does."""
    if py2_style and protocol <= 2:
        buf = io.BytesIO()
        _Py2Pickler(buf, protocol=protocol).dump(obj)
        return buf.getvalue()
    return pickle.dumps(obj, protocol=protocol)


def _py2_str(obj: object) -> object:
    """str -> bytes, also inside lists (Python 2's str was bytes)."""
    if isinstance(obj, str):
        return obj.encode()
    if isinstance(obj, list):
        return [_py2_str(x) for x in obj]
    return obj


def write_cifar_batch(
    path: str | Path,
    data: np.ndarray,
    labels: np.ndarray,
    protocol: int = 2,
    py2_style: bool = True,
) -> Path:
    """Write one CIFAR-10 batch: a dict with data uint8 (N, 3072) and labels a list of ints.

    py2_style: bytes keys b'data', b'labels', b'batch_label', b'filenames' as in the real
    batches (and, at protocols 0-2, Python 2's opcodes); otherwise str keys.
    """
    path = Path(path)
    filenames = [f"fake_{i:05d}.png" for i in range(len(labels))]
    batch = {
        "batch_label": f"fake batch {path.name}",
        "labels": [int(x) for x in labels],
        "data": np.ascontiguousarray(data, dtype=np.uint8),
        "filenames": filenames,
    }
    if py2_style:  # py2 str is bytes: keys and strings come back as bytes with encoding="bytes"
        batch = {k.encode(): _py2_str(v) for k, v in batch.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cifar_pickle_bytes(batch, protocol, py2_style))
    return path


def write_cifar_root(
    root: str | Path, n_per_batch: int, seed: int = 0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write data_batch_1..5, test_batch and batches.meta under ``<root>/cifar-10-batches-py/``.

    Returns {batch name: (data uint8 (n, 3072), labels int64 (n,))}, what ``load_cifar10`` gives.
    """
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-10-batches-py"
    out = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(n_per_batch, 3072), dtype=np.uint8)
        labels = _digits(rng, n_per_batch)
        write_cifar_batch(folder / name, data, labels)
        out[name] = (data, labels)
    meta = {
        b"num_cases_per_batch": n_per_batch,
        b"label_names": _py2_str(CIFAR10_LABEL_NAMES),
        b"num_vis": 3072,
    }
    (folder / "batches.meta").write_bytes(cifar_pickle_bytes(meta))
    return out


def write_cifar_archive(
    path: str | Path, n_per_batch: int, seed: int = 0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write cifar-10-python.tar.gz (members under cifar-10-batches-py/) at ``path``."""
    with tempfile.TemporaryDirectory() as staging:
        arrays = write_cifar_root(staging, n_per_batch, seed)
        with tarfile.open(path, "w:gz") as tar:
            tar.add(Path(staging) / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return arrays


class StarterSoftmaxModel:
    """A softmax model with the TDT4265 starter code's interface only (``w``, ``forward``,
    ``backward`` storing ``grad``; no ``scores``), as a student writes it: zero weights
    (785, 10) and the text's gradient with ``2 * lambda * w``."""

    def __init__(self, l2_reg_lambda: float = 0.0) -> None:
        self.l2_reg_lambda = l2_reg_lambda
        self.w = np.zeros((785, 10))
        self.grad: np.ndarray | None = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        z = X @ self.w
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def backward(self, X: np.ndarray, outputs: np.ndarray, targets: np.ndarray) -> None:
        self.grad = -(X.T @ (targets - outputs)) / X.shape[0] + 2 * self.l2_reg_lambda * self.w
