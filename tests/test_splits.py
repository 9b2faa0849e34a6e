"""The splits each text prescribes: sizes, disjointness, preprocessing, on the embedded subset
and on small files written in the real formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from numpy_impl import data
from numpy_impl.run.experiments import ExperimentError
from numpy_impl.splits import dd2424_split, mnist_sets, tdt4265_split
from tests.fakes import write_cifar_root, write_mnist_root


def test_embedded_sets_are_a_disjoint_stratified_cut() -> None:
    train_x, train_y, test_x, test_y, description = mnist_sets(None)
    assert "embedded" in description
    assert train_x.shape == (4000, 784) and test_x.shape == (1000, 784)
    assert np.bincount(train_y).tolist() == [400] * 10
    assert np.bincount(test_y).tolist() == [100] * 10
    images, _ = data.load_embedded_mnist()
    rows = {row.tobytes(): i for i, row in enumerate(images)}
    train_ids = {rows[r.tobytes()] for r in train_x}
    test_ids = {rows[r.tobytes()] for r in test_x}
    assert not train_ids & test_ids
    # Unsorted, like MNIST itself: the first batch already holds every digit.
    assert len(set(train_y[:128].tolist())) == 10


def test_tdt4265_binary_on_the_embedded_subset() -> None:
    split = tdt4265_split(binary=True)
    assert split.sizes() == {"train": 800, "val": 200}
    assert split.X_train.shape == (800, 785) and split.Y_train.shape == (800, 1)
    assert split.X_train.min() == -1 and split.X_train.max() == 1
    assert np.all(split.X_train[:, -1] == 1)  # the bias trick: 1 as the last column
    assert split.Y_train.mean() == 0.5  # 400 twos (target 1), 400 threes (target 0)


def test_tdt4265_recipe_on_mnist_files(tmp_path: Path) -> None:
    written = write_mnist_root(tmp_path, n_train=300, n_test=120)
    split = tdt4265_split(str(tmp_path), binary=True)
    train_labels, val_labels = written["train"][1], written["test"][1]
    keep = np.isin(train_labels, [2, 3])
    assert split.sizes() == {"train": keep.sum(), "val": np.isin(val_labels, [2, 3]).sum()}
    np.testing.assert_array_equal(split.Y_train[:, 0], train_labels[keep] == 2)
    np.testing.assert_allclose(split.X_train[:, :-1],
                               written["train"][0][keep] / 127.5 - 1, rtol=0, atol=1e-15)
    softmax = tdt4265_split(str(tmp_path), dtype="float32")
    assert softmax.X_train.dtype == np.float32 and softmax.Y_train.shape == (300, 10)
    np.testing.assert_array_equal(softmax.Y_val.argmax(1), val_labels)


@pytest.mark.slow
def test_tdt4265_keeps_the_first_20000_training_images(tmp_path: Path) -> None:
    write_mnist_root(tmp_path, n_train=20_050, n_test=10)
    assert tdt4265_split(str(tmp_path)).sizes()["train"] == 20_000


def test_dd2424_recipe_on_cifar_files(tmp_path: Path) -> None:
    written = write_cifar_root(tmp_path, n_per_batch=60)
    split = dd2424_split("cifar10", str(tmp_path))
    assert split.sizes() == {"train": 60, "val": 60, "test": 60}
    assert split.X_train.shape == (3072, 60) and split.Y_train.shape == (10, 60)
    np.testing.assert_array_equal(split.Y_val.argmax(0), written["data_batch_2"][1])
    # z-scored per dimension with the TRAINING mean and std
    np.testing.assert_allclose(split.X_train.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(split.X_train.std(axis=1), 1, atol=1e-12)
    raw_train = written["data_batch_1"][0].T / 255
    raw_test = written["test_batch"][0].T / 255
    mean, std = raw_train.mean(1, keepdims=True), raw_train.std(1, keepdims=True)
    np.testing.assert_allclose(split.X_test, (raw_test - mean) / std, atol=1e-12)


def test_dd2424_all_batches_minus_validation(tmp_path: Path) -> None:
    written = write_cifar_root(tmp_path, n_per_batch=50)
    split = dd2424_split("cifar10", str(tmp_path), all_batches=True, val_size=30)
    assert split.sizes() == {"train": 220, "val": 30, "test": 50}
    labels = np.concatenate([written[f"data_batch_{i}"][1] for i in range(1, 6)])
    np.testing.assert_array_equal(split.Y_train.argmax(0), labels[:220])
    np.testing.assert_array_equal(split.Y_val.argmax(0), labels[220:])


def test_dd2424_on_the_embedded_mnist_subset() -> None:
    split = dd2424_split("mnist", None)
    assert split.sizes() == {"train": 800, "val": 800, "test": 1000}
    assert split.X_train.shape[0] == 784 and split.image_shape == (28, 28, 1)
    assert np.isfinite(split.X_train).all()  # constant border pixels do not divide by 0
    bonus = dd2424_split("mnist", None, all_batches=True, val_size=400)
    assert bonus.sizes() == {"train": 3600, "val": 400, "test": 1000}


def test_cifar_without_a_root_says_what_to_do() -> None:
    with pytest.raises(ExperimentError, match="--data.download true"):
        dd2424_split("cifar10", None)


def test_cifar_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(data.DatasetNotFoundError) as err:
        dd2424_split("cifar10", str(tmp_path))
    assert "data_batch_1" in str(err.value) and str(tmp_path) in str(err.value)
