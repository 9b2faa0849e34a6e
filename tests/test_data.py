"""numpy_impl.data: IDX and CIFAR readers, the restricted unpickler, the embedded MNIST subset,
missing-data errors and pooch downloads against a local HTTP server (never the internet).

Every bad input raises a DataError whose message is one line naming the file, what is wrong
and what to do; ``message`` checks all three for each case."""

from __future__ import annotations

import builtins
import copyreg
import gzip
import hashlib
import io
import os
import pickle
import re
import socket
import tarfile
from pathlib import Path

import numpy as np
import pytest

from numpy_impl import data
from numpy_impl.data import (
    CIFAR10_ARCHIVE,
    CorruptFileError,
    DataError,
    DatasetNotFoundError,
    DownloadError,
    UnsafePickleError,
    download_cifar10,
    download_mnist,
    load_cifar10,
    load_cifar10_label_names,
    load_cifar_batch,
    load_embedded_mnist,
    load_mnist,
    read_idx,
    safe_unpickle,
)
from tests.fakes import (
    CIFAR10_LABEL_NAMES,
    cifar_pickle_bytes,
    write_cifar_archive,
    write_cifar_batch,
    write_cifar_root,
    write_idx,
    write_mnist_root,
)

MNIST_NAMES = list(data.MNIST_FILES)
REFETCH = "to fetch it again, pass --data.download true (CLI) or download=True"


def md5(path: Path) -> str:
    return "md5:" + hashlib.md5(path.read_bytes()).hexdigest()


def message(err: pytest.ExceptionInfo, *parts: str) -> str:
    """The text of a raised DataError, checked to be a single line holding every part."""
    assert isinstance(err.value, DataError), type(err.value)
    text = str(err.value)
    assert text.splitlines() == [text], text
    for part in parts:
        assert part in text, f"{part!r} not in {text!r}"
    return text


def closed_port_url() -> str:
    """A loopback URL on which nothing listens: a download from it fails like no network."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_error_family() -> None:
    # the CLIs catch DataError; the older bases stay for callers that catch those
    assert issubclass(DatasetNotFoundError, FileNotFoundError)
    assert issubclass(UnsafePickleError, ValueError) and issubclass(CorruptFileError, ValueError)
    for cls in (DatasetNotFoundError, UnsafePickleError, CorruptFileError, DownloadError):
        assert issubclass(cls, DataError)
    err = pickle.loads(pickle.dumps(DatasetNotFoundError("MNIST", "/r", ["/r/a"])))
    assert isinstance(err, DatasetNotFoundError) and err.missing == ["/r/a"]
    assert str(CorruptFileError("a:\n  b\r\nc")) == "a: b c"  # library text made one line


# ------------------------------------------------------------------------------------ IDX


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("shape", [(5,), (4, 28, 28), (2, 3, 4, 5)])
def test_idx_round_trip(tmp_path: Path, shape: tuple[int, ...], compress: bool) -> None:
    array = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    path = write_idx(tmp_path / "x.idx", array, compress=compress)
    raw = gzip.decompress(path.read_bytes()) if compress else path.read_bytes()
    assert int.from_bytes(raw[:4], "big") == 0x00000800 + len(shape)  # 0x803 images, 0x801 labels
    out = read_idx(path)
    assert out.dtype == np.uint8 and out.shape == shape
    np.testing.assert_array_equal(out, array)
    assert out.flags.writeable


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda b: b"\x01\x00" + b[2:],
            "bad IDX magic number 0x01000803, expected 0x00000803 (images) or 0x00000801 (labels)",
        ),
        (lambda b: b[:2] + b"\x0d" + b[3:], "IDX type code 0x0d not supported (only 0x08 = uint8)"),
        (lambda b: b[:3] + b"\x00" + b[4:], "IDX magic 0x00000800 declares no dimensions"),
        (
            lambda b: b[:-1],
            "truncated: the IDX payload has 783 bytes but the header's dims (1, 28, 28) need 784",
        ),
        (lambda b: b + b"\x00", "trailing data after the payload: the IDX payload has 785 bytes"),
        (lambda b: b[:9], "truncated IDX header (3 dims need 16 bytes)"),
        (lambda b: b[:2], "2 bytes is too short for an IDX header"),
    ],
)
def test_idx_bad_file_names_file_and_problem(tmp_path: Path, mutate, expected: str) -> None:
    good = tmp_path / "good.gz"
    write_idx(good, np.zeros((1, 28, 28), np.uint8))
    bad = tmp_path / "bad-images-idx3-ubyte"
    bad.write_bytes(mutate(gzip.decompress(good.read_bytes())))
    with pytest.raises(CorruptFileError) as err:
        read_idx(bad)
    message(err, f"{bad}: {expected}", REFETCH)


def test_idx_truncated_gzip_says_truncated_with_sizes(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(1000) % 10)
    cut = path.read_bytes()[:-20]
    path.write_bytes(cut)
    with pytest.raises(CorruptFileError) as err:
        read_idx(path)
    message(
        err,
        f"{path}: truncated gzip file, {len(cut):,} bytes found, the published "
        "t10k-labels-idx1-ubyte.gz is 4,542 bytes",
        REFETCH,
    )


def test_idx_corrupted_gzip(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.arange(5000) % 256)
    blob = bytearray(path.read_bytes())
    blob[-8] ^= 0xFF  # the CRC-32 in gzip's trailer
    path.write_bytes(bytes(blob))
    with pytest.raises(CorruptFileError) as err:
        read_idx(path)
    message(err, f"{path}: corrupt gzip data (CRC check failed", REFETCH)


# ---------------------------------------------------------------------------------- MNIST


def test_load_mnist_round_trip(tmp_path: Path) -> None:
    arrays = write_mnist_root(tmp_path, n_train=30, n_test=20, seed=1)
    for train, split in ((True, "train"), (False, "test")):
        images, labels = load_mnist(tmp_path, train=train)
        assert images.dtype == np.uint8 and images.shape == (len(labels), 784)
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(images, arrays[split][0])
        np.testing.assert_array_equal(labels, arrays[split][1])
    assert set(load_mnist(tmp_path, train=True)[1]) == set(range(10))


def test_load_mnist_row_major_flatten(tmp_path: Path) -> None:
    image = np.arange(784).reshape(1, 28, 28) % 256
    write_idx(tmp_path / "MNIST/raw/t10k-images-idx3-ubyte.gz", image)
    write_idx(tmp_path / "MNIST/raw/t10k-labels-idx1-ubyte.gz", np.array([7]))
    images, labels = load_mnist(tmp_path, train=False)
    np.testing.assert_array_equal(images[0], np.arange(784) % 256)  # pixel (r, c) at 28 r + c
    assert labels.tolist() == [7]


def test_load_mnist_accepts_ungzipped_and_prefers_gz(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    plain = np.full((3, 28, 28), 1, np.uint8)
    write_idx(raw / "t10k-images-idx3-ubyte", plain, compress=False)
    write_idx(raw / "t10k-labels-idx1-ubyte", np.array([0, 1, 2]), compress=False)
    images, labels = load_mnist(tmp_path, train=False)  # torchvision's un-gzipped copies only
    assert (images == 1).all() and labels.tolist() == [0, 1, 2]
    write_idx(raw / "t10k-images-idx3-ubyte.gz", np.full((3, 28, 28), 2, np.uint8))
    images, _ = load_mnist(tmp_path, train=False)
    assert (images == 2).all()


@pytest.mark.parametrize(
    ("images", "labels", "expected"),
    [
        (
            np.zeros((2, 784)),
            np.zeros(2),
            "images-idx3-ubyte.gz: wrong image size: expected magic 0x00000803 with dims "
            "(N, 28, 28), i.e. 784 pixels per image, got 2 dims (2, 784)",
        ),
        (
            np.zeros((2, 32, 32)),
            np.zeros(2),
            "images-idx3-ubyte.gz: wrong image size: expected magic 0x00000803",
        ),
        (
            np.zeros((2, 28, 28)),
            np.zeros((2, 1)),
            "labels-idx1-ubyte.gz: expected magic 0x00000801 (1 dim)",
        ),
        (
            np.zeros((2, 28, 28)),
            np.zeros(3),
            "labels-idx1-ubyte.gz: sizes disagree: 3 labels but ",
        ),
        (
            np.zeros((2, 28, 28)),
            np.array([1, 10]),
            "labels-idx1-ubyte.gz: label 10 is out of range, not a digit 0..9",
        ),
    ],
)
def test_load_mnist_rejects_wrong_shapes(tmp_path, images, labels, expected) -> None:
    write_idx(tmp_path / "MNIST/raw/t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "MNIST/raw/t10k-labels-idx1-ubyte.gz", labels)
    with pytest.raises(CorruptFileError) as err:
        load_mnist(tmp_path, train=False)
    message(err, f"{tmp_path / 'MNIST/raw/t10k-'}{expected}", REFETCH)


def test_missing_mnist_names_files_root_and_flag(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as err:
        load_mnist(tmp_path, train=True)
    text = message(err)
    assert isinstance(err.value, FileNotFoundError)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        assert name in text
    assert "t10k" not in text  # only the files this split needs
    assert str(tmp_path) in text
    assert "--data.download true" in text and "download=True" in text
    assert str(pickle.loads(pickle.dumps(err.value))) == text


def test_missing_one_mnist_file_names_only_it(tmp_path: Path) -> None:
    write_mnist_root(tmp_path, 10, 10)
    (tmp_path / "MNIST/raw/t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError) as err:
        load_mnist(tmp_path, train=False)
    assert err.value.missing == [str(tmp_path / "MNIST/raw/t10k-labels-idx1-ubyte.gz")]


# -------------------------------------------------------------------------------- CIFAR-10


@pytest.mark.parametrize("py2_style", [True, False])
@pytest.mark.parametrize("protocol", range(6))
def test_cifar_batch_round_trip(tmp_path: Path, protocol: int, py2_style: bool) -> None:
    rng = np.random.default_rng(protocol)
    batch = rng.integers(0, 256, size=(12, 3072), dtype=np.uint8)
    labels = np.arange(12) % 10
    path = write_cifar_batch(tmp_path / "data_batch_1", batch, labels, protocol, py2_style)
    keys = safe_unpickle(path).keys()
    assert all(isinstance(k, bytes if py2_style else str) for k in keys)
    out_data, out_labels = load_cifar_batch(path)
    assert out_data.dtype == np.uint8 and out_data.shape == (12, 3072)
    assert out_labels.dtype == np.int64
    np.testing.assert_array_equal(out_data, batch)
    np.testing.assert_array_equal(out_labels, labels)


@pytest.mark.parametrize("protocol", range(6))
def test_cifar_batch_labels_as_numpy_array_or_scalars(tmp_path: Path, protocol: int) -> None:
    # list(np_array) pickles numpy scalars (numpy._core.multiarray.scalar): admitted
    labels = np.arange(10, dtype=np.int64)
    for as_pickled in (labels, list(labels)):
        batch = {"data": np.zeros((10, 3072), np.uint8), "labels": as_pickled}
        path = tmp_path / f"b{protocol}"
        path.write_bytes(pickle.dumps(batch, protocol=protocol))
        np.testing.assert_array_equal(load_cifar_batch(path)[1], labels)


@pytest.mark.parametrize(
    ("batch", "expected"),
    [
        ({"labels": [0]}, "missing key(s) ['data']"),
        ({b"data": np.zeros((1, 3072), np.uint8)}, "missing key(s) ['labels']"),
        ({"data": np.zeros((1, 3072), np.float32), "labels": [0]}, "float32 (1, 3072)"),
        (
            {"data": np.zeros((1, 32, 32, 3), np.uint8), "labels": [0]},
            "wrong image size: 'data' must be a uint8 array of shape (N, 3072), i.e. 32x32x3 "
            "values per image, got uint8 (1, 32, 32, 3)",
        ),
        ({"data": np.zeros((1, 784), np.uint8), "labels": [0]}, "wrong image size"),
        ({"data": [[0] * 3072], "labels": [0]}, "got list"),
        (
            {"data": np.zeros((2, 3072), np.uint8), "labels": [0]},
            "sizes disagree: 'labels' must be 2 integers (one per image), got int64 (1,)",
        ),
        ({"data": np.zeros((1, 3072), np.uint8), "labels": [0.5]}, "'labels' must be 1 integers"),
        (
            {"data": np.zeros((1, 3072), np.uint8), "labels": [10]},
            "labels out of range: they must lie in 0..9, got 10..10",
        ),
        ({"data": np.zeros((1, 3072), np.uint8), "labels": [-1]}, "got -1..-1"),
        ([1, 2], "expected a dict, got list"),
    ],
)
def test_cifar_batch_wrong_keys_or_shapes(tmp_path: Path, batch, expected: str) -> None:
    path = tmp_path / "data_batch_3"
    path.write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(CorruptFileError) as err:
        load_cifar_batch(path)
    message(err, f"{path}: ", expected, REFETCH)


@pytest.mark.parametrize("name", ["data_batch_1", "test_batch", "my_batch"])
@pytest.mark.parametrize("cut", [1, 100, 10_000, 600_000])
def test_truncated_cifar_batch_says_so_with_sizes(tmp_path: Path, name: str, cut: int) -> None:
    # a fake in the real format (Python 2 pickle, bytes keys), cut short anywhere
    rng = np.random.default_rng(0)
    path = write_cifar_batch(
        tmp_path / name, rng.integers(0, 256, (200, 3072), np.uint8), np.arange(200) % 10
    )
    path.write_bytes(path.read_bytes()[:-cut])
    size = path.stat().st_size
    expected = {
        "data_batch_1": "the published data_batch_1 is 31,035,704 bytes",
        "test_batch": "the published test_batch is 31,035,526 bytes",
        "my_batch": "a batch of 10,000 images is over 30,720,000 bytes",
    }[name]
    with pytest.raises(CorruptFileError) as err:
        load_cifar_batch(path)
    message(err, f"{path}: truncated CIFAR-10 pickle, {size:,} bytes found, {expected}", REFETCH)


def test_empty_cifar_batch_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "data_batch_2"
    path.touch()
    with pytest.raises(CorruptFileError) as err:
        load_cifar_batch(path)
    message(err, f"{path}: truncated CIFAR-10 pickle, 0 bytes found, the published data_batch_2")


def test_cifar_batch_damaged_pickle(tmp_path: Path) -> None:
    path = write_cifar_batch(tmp_path / "test_batch", np.zeros((3, 3072), np.uint8), [0, 1, 2])
    path.write_bytes(path.read_bytes()[:-100] + b"\xff" * 100)  # full length, bad opcodes
    with pytest.raises(CorruptFileError) as err:
        load_cifar_batch(path)
    message(err, f"{path}: not a valid CIFAR-10 pickle (", REFETCH)


def test_real_batch_size_is_over_the_pixels() -> None:
    # the published sizes are pickles of 10,000 images of 3,072 bytes plus labels and names
    for name in data.CIFAR10_BATCHES:
        assert 10_000 * 3072 < data.PUBLISHED_SIZES[name] < 10_000 * 3072 + 400_000


def test_load_cifar10_and_label_names(tmp_path: Path) -> None:
    arrays = write_cifar_root(tmp_path, n_per_batch=20, seed=3)
    batches = load_cifar10(tmp_path)
    assert list(batches) == [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name, (batch, labels) in batches.items():
        np.testing.assert_array_equal(batch, arrays[name][0])
        np.testing.assert_array_equal(labels, arrays[name][1])
    assert load_cifar10_label_names(tmp_path) == CIFAR10_LABEL_NAMES


def test_missing_cifar_names_files_root_and_flag(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as err:
        load_cifar10(tmp_path)
    text = message(err)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        assert str(tmp_path / "cifar-10-batches-py" / name) in text
    assert str(tmp_path) in text and "CIFAR-10" in text
    assert "--data.download true (CLI) or download=True" in text
    write_cifar_root(tmp_path, 10)
    (tmp_path / "cifar-10-batches-py" / "data_batch_4").unlink()
    with pytest.raises(DatasetNotFoundError) as err:
        load_cifar10(tmp_path)
    assert err.value.missing == [str(tmp_path / "cifar-10-batches-py" / "data_batch_4")]


# ----------------------------------------------------------------------- restricted unpickler


class _Payload:
    """Pickles as a call to ``func(*args)``: what an attacker puts in a crafted batch."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _payloads(marker: Path) -> dict[str, _Payload]:
    return {
        "posix.system": _Payload(os.system, f"touch '{marker}'"),
        "builtins.exec": _Payload(builtins.exec, f"open({str(marker)!r}, 'w').close()"),
        "builtins.open": _Payload(builtins.open, str(marker), "w"),
    }


# the global each payload names (protocols 0-2 write Python 2's __builtin__; open is io.open)
FORBIDDEN = {
    "posix.system": r"posix\.system",
    "builtins.exec": r"(builtins|__builtin__)\.exec",
    "builtins.open": r"(io|builtins|__builtin__)\.open",
}


@pytest.mark.parametrize("protocol", range(6))
@pytest.mark.parametrize("kind", list(FORBIDDEN))
def test_crafted_pickle_is_refused(tmp_path: Path, protocol: int, kind: str) -> None:
    marker = tmp_path / "pwned"
    blob = pickle.dumps(_payloads(marker)[kind], protocol=protocol)
    # the payload is real: the stock unpickler runs it
    obj = pickle.loads(blob)
    assert marker.exists()
    if hasattr(obj, "close"):
        obj.close()
    marker.unlink()

    path = tmp_path / "evil.pkl"
    path.write_bytes(blob)
    with pytest.raises(
        UnsafePickleError, match=rf"evil\.pkl: .*forbidden global {FORBIDDEN[kind]}"
    ):
        safe_unpickle(path)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", range(6))
def test_crafted_batch_is_refused_by_load_cifar_batch(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "pwned"
    evil = {b"data": _payloads(marker)["builtins.exec"], b"labels": [0]}
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(evil, protocol=protocol))
    with pytest.raises(UnsafePickleError, match=rf"data_batch_1: .*{FORBIDDEN['builtins.exec']}"):
        load_cifar_batch(path)
    assert not marker.exists()


def test_codecs_encode_only_latin1(tmp_path: Path) -> None:
    # _codecs.encode is admitted because NumPy pickles bytes with it at protocols 0-2,
    # but only as encode(str, 'latin1')
    assert safe_unpickle(io.BytesIO(pickle.dumps(b"\xff\x00", protocol=2))) == b"\xff\x00"
    import codecs

    blob = pickle.dumps(_Payload(codecs.encode, "abc", "rot13"), protocol=2)
    with pytest.raises(UnsafePickleError, match="_codecs.encode"):
        safe_unpickle(io.BytesIO(blob))


def test_persistent_id_is_refused() -> None:
    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return "ref" if obj == "x" else None

    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(["x"])
    buf.seek(0)
    with pytest.raises(UnsafePickleError, match="PERSID"):
        safe_unpickle(buf)


class _Stateful(_Payload):
    """Pickles as ``func(*args)`` followed by BUILD with ``state``."""

    def __init__(self, func, args, state) -> None:
        super().__init__(func, *args)
        self.state = state

    def __reduce__(self):
        return self.func, self.args, self.state


class _PosingAsNdarray(_Payload):
    """The pickler writes NEWOBJ for ``copyreg.__newobj__`` only if the class matches."""

    @property
    def __class__(self):
        return np.ndarray


# numpy.ndarray and numpy.dtype must be admitted for arrays, but these uses of them build
# object arrays over raw bytes (forged pointers); the zeros here make them harmless (None).
NUMPY_ABUSE = {
    "call ndarray": (_Payload(np.ndarray, (1,), "O", b"\0" * 8), "call ndarray"),
    "NEWOBJ ndarray": (
        _PosingAsNdarray(copyreg.__newobj__, np.ndarray, (1,), "O", b"\0" * 8),
        "opcode NEWOBJ",
    ),
    "dtype flags": (
        _Stateful(np.dtype, ("u1", False, True), (3, "|", None, None, None, -1, -1, 0x3F)),
        "BUILD opcode",
    ),
    "object dtype": (_Payload(np.dtype, "O"), "dtype dtype('O')"),
}


@pytest.mark.parametrize("protocol", range(2, 6))
@pytest.mark.parametrize("kind", list(NUMPY_ABUSE))
def test_numpy_abuse_is_refused(protocol: int, kind: str) -> None:
    payload, expected = NUMPY_ABUSE[kind]
    blob = pickle.dumps(payload, protocol=protocol)
    obj = pickle.loads(blob)  # the stock unpickler builds an object array / object dtype
    assert (obj.dtype if isinstance(obj, np.ndarray) else obj).hasobject
    with pytest.raises(UnsafePickleError, match=re.escape(expected)):
        safe_unpickle(io.BytesIO(blob))


def test_py2_batch_bytes_match_real_layout() -> None:
    # The writer emits what Python 2 + NumPy 1 wrote for the real batches
    batch = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]}
    blob = cifar_pickle_bytes(batch, protocol=2)
    assert blob.startswith(b"\x80\x02}q\x00(U\x04dataq\x01cnumpy.core.multiarray\n_reconstruct\n")
    assert b"_codecs" not in blob


# ---------------------------------------------------------------------------- embedded MNIST


def test_embedded_mnist() -> None:
    images, labels = load_embedded_mnist()
    assert images.shape == (5000, 784) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [500] * 10
    assert (np.diff(labels) >= 0).all()  # the file's order: sorted by digit
    assert images.min() == 0 and images.max() == 255
    assert not images.flags.writeable and not labels.flags.writeable
    assert load_embedded_mnist()[0] is images  # cached


def test_a_changed_embedded_file_is_refused(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    """The shipped subset is read only when it is the shipped file (its sha256)."""
    changed = tmp_path / "mnist_5k.csv.gz"
    raw = bytearray(data.EMBEDDED_MNIST.read_bytes())
    raw[-10] ^= 1
    changed.write_bytes(bytes(raw))
    monkeypatch.setattr(data, "EMBEDDED_MNIST", changed)
    load_embedded_mnist.cache_clear()
    try:
        with pytest.raises(data.CorruptFileError, match="sha256 .* reinstall the package"):
            load_embedded_mnist()
    finally:
        load_embedded_mnist.cache_clear()


# ------------------------------------------------------------------ downloads (local server)


def test_download_mnist(tmp_path: Path, http_root: Path, local_http_server: str) -> None:
    arrays = write_mnist_root(http_root, n_train=25, n_test=15, seed=4)
    served = http_root / "MNIST" / "raw"
    files = {name: md5(served / name) for name in MNIST_NAMES}
    root = tmp_path / "data"
    raw = download_mnist(root, base_url=f"{local_http_server}/MNIST/raw/", files=files)
    assert raw == root / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(MNIST_NAMES)  # no temp files left
    for name in MNIST_NAMES:
        assert (raw / name).read_bytes() == (served / name).read_bytes()
    images, labels = load_mnist(root, train=True)
    np.testing.assert_array_equal(images, arrays["train"][0])
    np.testing.assert_array_equal(labels, arrays["train"][1])


def test_load_mnist_download_flag(
    tmp_path: Path, http_root: Path, local_http_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = write_mnist_root(http_root, n_train=10, n_test=12, seed=5)
    served = http_root / "MNIST" / "raw"
    monkeypatch.setattr(data, "MNIST_BASE_URL", f"{local_http_server}/MNIST/raw/")
    monkeypatch.setattr(data, "MNIST_FILES", {n: md5(served / n) for n in MNIST_NAMES})
    images, labels = load_mnist(tmp_path, train=False, download=True)
    np.testing.assert_array_equal(images, arrays["test"][0])
    np.testing.assert_array_equal(labels, arrays["test"][1])


def test_download_mnist_checksum_mismatch(
    tmp_path: Path, http_root: Path, local_http_server: str
) -> None:
    write_mnist_root(http_root, n_train=10, n_test=10)
    served = http_root / "MNIST" / "raw"
    files = {name: md5(served / name) for name in MNIST_NAMES}
    files["train-labels-idx1-ubyte.gz"] = "md5:" + "0" * 32
    with pytest.raises(DownloadError) as err:
        download_mnist(tmp_path, base_url=f"{local_http_server}/MNIST/raw", files=files)
    raw = tmp_path / "MNIST" / "raw"
    message(
        err,
        "download of train-labels-idx1-ubyte.gz from ",
        "is corrupt (checksum mismatch, expected md5:000",
        f"the download was discarded. Retry, or put a good copy at "
        f"{raw / 'train-labels-idx1-ubyte.gz'} by hand",
    )
    assert sorted(p.name for p in raw.iterdir()) == ["train-images-idx3-ubyte.gz"]
    with pytest.raises(DatasetNotFoundError, match="train-labels-idx1-ubyte.gz"):
        load_mnist(tmp_path, train=True)  # nothing that passes as valid was left behind


def test_download_cifar10(tmp_path: Path, http_root: Path, local_http_server: str) -> None:
    arrays = write_cifar_archive(http_root / "cifar-10-python.tar.gz", n_per_batch=10, seed=6)
    known = md5(http_root / "cifar-10-python.tar.gz")
    root = tmp_path / "data"
    url = f"{local_http_server}/cifar-10-python.tar.gz"
    folder = download_cifar10(root, url=url, known_hash=known.removeprefix("md5:"))  # bare md5
    assert folder == root / "cifar-10-batches-py"
    assert (root / "cifar-10-python.tar.gz").is_file()
    batches = load_cifar10(root)
    for name, (batch, labels) in batches.items():
        np.testing.assert_array_equal(batch, arrays[name][0])
        np.testing.assert_array_equal(labels, arrays[name][1])
    assert load_cifar10_label_names(root) == CIFAR10_LABEL_NAMES


def test_load_cifar10_download_flag(
    tmp_path: Path, http_root: Path, local_http_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = write_cifar_archive(http_root / "cifar-10-python.tar.gz", n_per_batch=10, seed=7)
    monkeypatch.setattr(data, "CIFAR10_URL", f"{local_http_server}/cifar-10-python.tar.gz")
    monkeypatch.setattr(data, "CIFAR10_MD5", md5(http_root / "cifar-10-python.tar.gz")[4:])
    batches = load_cifar10(tmp_path, download=True)
    np.testing.assert_array_equal(batches["test_batch"][0], arrays["test_batch"][0])


def test_download_cifar10_checksum_mismatch(
    tmp_path: Path, http_root: Path, local_http_server: str
) -> None:
    write_cifar_archive(http_root / "cifar-10-python.tar.gz", n_per_batch=10)
    url = f"{local_http_server}/cifar-10-python.tar.gz"
    root = tmp_path / "data"
    with pytest.raises(DownloadError) as err:
        download_cifar10(root, url=url, known_hash=data.CIFAR10_MD5)
    message(err, "download of cifar-10-python.tar.gz from ", "is corrupt (checksum mismatch")
    assert not root.exists()  # no archive (nor a temp file), nothing extracted, no empty folder
    with pytest.raises(DatasetNotFoundError):
        load_cifar10(root)


def test_download_cifar10_refuses_path_traversal(
    tmp_path: Path, http_root: Path, local_http_server: str
) -> None:
    archive = http_root / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    root = tmp_path / "data"
    url = f"{local_http_server}/cifar-10-python.tar.gz"
    with pytest.raises(CorruptFileError) as err:
        download_cifar10(root, url=url, known_hash=md5(archive))
    message(err, "cifar-10-python.tar.gz: not a valid CIFAR-10 archive (OutsideDestinationError")
    assert isinstance(err.value.__cause__, tarfile.FilterError)
    assert not (tmp_path / "escaped").exists() and not (root / "escaped").exists()
    assert [p.name for p in root.iterdir()] == ["cifar-10-python.tar.gz"]  # no staging folder


def test_failed_mnist_download_leaves_nothing_and_says_what_to_do(tmp_path: Path) -> None:
    url = closed_port_url()
    root = tmp_path / "data"
    with pytest.raises(DownloadError) as err:
        download_mnist(root, base_url=url, files=data.MNIST_FILES)
    message(
        err,
        f"could not download {url}/train-images-idx3-ubyte.gz (no network: [Errno ",
        f"). Put the file at {root / 'MNIST/raw/train-images-idx3-ubyte.gz'} by hand, or retry "
        "with a network",
    )
    assert not root.exists()  # neither an empty MNIST/raw/ nor a partial file


def test_failed_download_through_load_keeps_existing_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "MNIST").mkdir()
    monkeypatch.setattr(data, "MNIST_BASE_URL", closed_port_url())
    with pytest.raises(DownloadError):
        load_mnist(tmp_path, train=True, download=True)
    assert [p.name for p in tmp_path.iterdir()] == ["MNIST"]  # made by the user: kept
    assert list((tmp_path / "MNIST").iterdir()) == []  # raw/ made by the download: removed


def test_http_error_download_leaves_nothing(
    tmp_path: Path, http_root: Path, local_http_server: str
) -> None:
    root = tmp_path / "data"
    url = f"{local_http_server}/cifar-10-python.tar.gz"  # http_root is empty: 404
    with pytest.raises(DownloadError) as err:
        download_cifar10(root, url=url)
    message(
        err,
        f"could not download {url} (HTTP 404 ",
        f"Put the file at {root / 'cifar-10-python.tar.gz'} by hand",
    )
    assert not root.exists()


def test_download_flag_refetches_corrupt_mnist_file(
    tmp_path: Path, http_root: Path, local_http_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = write_mnist_root(http_root, n_train=10, n_test=12, seed=8)
    served = http_root / "MNIST" / "raw"
    monkeypatch.setattr(data, "MNIST_BASE_URL", f"{local_http_server}/MNIST/raw/")
    monkeypatch.setattr(data, "MNIST_FILES", {n: md5(served / n) for n in MNIST_NAMES})
    write_mnist_root(tmp_path, n_train=10, n_test=12, seed=8)
    labels = tmp_path / "MNIST/raw/t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:-5])
    with pytest.raises(CorruptFileError) as err:
        load_mnist(tmp_path, train=False)
    message(err, f"{labels}: truncated gzip file", REFETCH)
    images, got = load_mnist(tmp_path, train=False, download=True)
    np.testing.assert_array_equal(got, arrays["test"][1])
    assert labels.read_bytes() == (served / labels.name).read_bytes()


def test_download_flag_refetches_truncated_cifar_batch(
    tmp_path: Path, http_root: Path, local_http_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = http_root / "cifar-10-python.tar.gz"
    arrays = write_cifar_archive(archive, n_per_batch=10, seed=9)
    root = tmp_path / "data"
    write_cifar_root(root, n_per_batch=10, seed=9)  # the same files as the archive holds
    folder = root / "cifar-10-batches-py"
    monkeypatch.setattr(data, "CIFAR10_URL", f"{local_http_server}/cifar-10-python.tar.gz")
    monkeypatch.setattr(data, "CIFAR10_MD5", md5(archive)[4:])
    monkeypatch.setattr(data, "CIFAR10_FILES", {n: md5(folder / n) for n in data.CIFAR10_FILES})
    batch = folder / "data_batch_2"
    good = batch.read_bytes()
    batch.write_bytes(good[: len(good) // 2])
    with pytest.raises(CorruptFileError) as err:
        load_cifar10(root)
    message(
        err,
        f"{batch}: truncated CIFAR-10 pickle, {len(good) // 2:,} bytes found, the published "
        "data_batch_2 is 31,035,320 bytes",
        REFETCH,
    )
    batches = load_cifar10(root, download=True)
    assert batch.read_bytes() == good
    np.testing.assert_array_equal(batches["data_batch_2"][0], arrays["data_batch_2"][0])
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-batches-py", CIFAR10_ARCHIVE]
    # a batch with the right size but the wrong md5 is fetched again too
    batch.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    load_cifar10(root, download=True)
    assert batch.read_bytes() == good


def test_download_flag_keeps_intact_cifar_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_cifar_root(tmp_path, n_per_batch=10)
    folder = tmp_path / "cifar-10-batches-py"
    monkeypatch.setattr(data, "CIFAR10_FILES", {n: md5(folder / n) for n in data.CIFAR10_FILES})
    monkeypatch.setattr(data, "CIFAR10_URL", closed_port_url())
    load_cifar10(tmp_path, download=True)  # every md5 matches: no download is tried
    (folder / "test_batch").write_bytes(b"")
    with pytest.raises(DownloadError) as err:
        load_cifar10(tmp_path, download=True)
    message(err, "could not download http://127.0.0.1:", "(no network: ")
