"""The experiments' data as a LightningDataModule: numpy_impl's split, numpy_impl's draws.

There is no second reader and no second split: :class:`ExperimentDataModule` calls
:func:`numpy_impl.splits.load_split` (same files, same preprocessing, same dtype) and keeps the
arrays in memory as tensors (``torch.from_numpy``, no copy). Training batches are sliced from
those tensors in the order :func:`numpy_impl.draws.draw_epoch` gives, from the one generator
``rng`` that also draws the initial weights, so for a seed the batches are exactly the NumPy
trainer's. Batches are ``(X, Y)`` in the split's layout (TDT4265 rows, DD2424 columns).

``backend="torchvision"`` (the optional ``torchvision`` extra) reads MNIST and CIFAR-10 through
``torchvision.datasets`` from the same root and feeds the arrays into the same split code.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_only
from torch import Tensor

from numpy_impl import data as numpy_data
from numpy_impl import dd2424, draws, splits
from numpy_impl.run.experiments import Experiment
from numpy_impl.run.schema import PRECISIONS, Backend, DatasetName, Precision, SplitName
from numpy_impl.splits import Split

Batch = tuple[Tensor, Tensor]


class TrainingBatches:
    """Every training epoch's mini-batches, sliced from in-memory tensors.

    Iterating draws the epoch's plan (``draws.draw_epoch(rng, n, shuffle, flip)``, once, when the
    first batch is taken: Lightning also calls ``iter()`` once just to check that this is
    iterable, which must not draw) and yields ``len(draws.batch_slices(n, batch_size))`` full
    batches in that order, flipped where the plan flips (``numpy_impl.dd2424.flip_images``).

    A checkpoint taken mid-epoch holds that epoch's plan and position (:meth:`state_dict`), so a
    resumed run trains on the rest of the same epoch, as an uninterrupted run would.

    Under data parallelism rank r of w takes positions ``r*B/w : (r+1)*B/w`` of every global
    batch, so the ranks' equally weighted mean gradient (DDP's average) is the full batch's.
    """

    def __init__(self, datamodule: ExperimentDataModule, rank: int = 0,
                 world_size: int = 1) -> None:
        if datamodule.batch_size % world_size:
            raise ValueError(
                f"data.batch_size {datamodule.batch_size} must be a multiple of the number of "
                f"processes ({world_size}), so that every rank takes an equal share of each "
                "batch and the averaged gradient equals the whole batch's")
        self.datamodule = datamodule
        self.X, self.Y = datamodule.tensors["train"]
        self.axis = datamodule.axis
        self.n = self.X.shape[self.axis]
        self.slices = draws.batch_slices(self.n, datamodule.batch_size)
        share = datamodule.batch_size // world_size
        self.share = slice(rank * share, (rank + 1) * share)
        self.resume_at: tuple[draws.EpochPlan, int] | None = None

    def state_dict(self) -> dict[str, Any]:
        """The epoch in progress, for Lightning's checkpoints (the fit loop saves the state of a
        training loader that has one and gives it back before a resumed run's first batch): its
        plan and how many of its batches were trained on; empty between epochs. The count is
        the fit loop's, not the batches taken from here: Lightning's data fetcher takes one
        batch ahead."""
        trainer = self.datamodule.trainer
        plan = self.datamodule.last_plan
        done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
        if plan is None or done >= trainer.num_training_batches:
            return {}
        return {"order": torch.from_numpy(plan.order),
                "flip": None if plan.flip is None else torch.from_numpy(plan.flip),
                "position": done}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Continue an interrupted epoch: the next iteration yields its remaining batches in
        its plan's order (the generator, restored by the data module, is already past that
        epoch's draw)."""
        if state_dict:
            flip = state_dict["flip"]
            plan = draws.EpochPlan(order=state_dict["order"].numpy(),
                                   flip=None if flip is None else flip.numpy())
            self.resume_at = (plan, int(state_dict["position"]))

    def __len__(self) -> int:
        return len(self.slices)

    def gather(self, A: Tensor, index: Tensor) -> Tensor:
        """The samples ``index`` of A along the sample axis, in one contiguous block.

        The DD2424 arrays are (d, n) in column-major order (one image per contiguous column):
        ``index_select`` along axis 1 of such a tensor takes 0.2-0.3 s a batch (it walks the
        memory element by element), so the columns are gathered as rows of the transposed view
        (whole contiguous images, ~1 ms): a (d, B) batch in column-major order, as the NumPy
        side's ``take_columns`` gives it. It stays in that order (a row-major copy would cost
        0.16 ms a step and change no product's speed: ``W @ X`` reads either order)."""
        if self.axis == 0:
            return A.index_select(0, index)
        return A.T.index_select(0, index).T

    def __iter__(self) -> Iterator[Batch]:
        dm = self.datamodule
        if self.resume_at is not None:  # the rest of an interrupted epoch, not a new draw
            plan, start = self.resume_at
            self.resume_at = None
        else:
            plan, start = draws.draw_epoch(dm.rng, self.n, dm.shuffle, dm.flip), 0
        dm.last_plan = plan
        for sl in self.slices[start:]:
            positions = np.arange(sl.start, sl.stop)[self.share]
            index = torch.from_numpy(plan.order[positions])
            X, Y = self.gather(self.X, index), self.gather(self.Y, index)
            if plan.flip is not None:
                X = torch.from_numpy(dd2424.flip_images(X.numpy(), plan.flip[positions],
                                                        dm.flip_inds))
            yield X, Y


class WholeSet:
    """A whole part of the split (validation or test) as one batch: the texts evaluate whole
    sets, and a single batch keeps Lightning's epoch mean equal to the set's value."""

    def __init__(self, X: Tensor, Y: Tensor) -> None:
        self.X, self.Y = X, Y

    def __len__(self) -> int:
        return 1

    def __iter__(self) -> Iterator[Batch]:
        yield self.X, self.Y


_REUSED: tuple[tuple[Any, ...], Split] | None = None  # see reusing()


def split_settings(dataset: str, split: str, root: str | None, val_size: int, dtype: str,
                   backend: str) -> tuple[Any, ...]:
    """What decides a data module's split (the key :func:`reusing` matches)."""
    return (dataset, split, root, val_size, dtype, backend)


@contextmanager
def reusing(split: Split, exp: Experiment) -> Iterator[None]:
    """Within the block, a data module of ``exp``'s settings takes ``split`` (``exp``'s, as
    ``experiment_split`` read it with numpy_impl's readers) instead of reading its own copy:
    compare loads the split once, for its NumPy side, and the reference built beside it shares
    the arrays (neither side writes to them)."""
    global _REUSED
    settings = split_settings(exp.dataset, exp.split, exp.root, exp.val_size, exp.dtype, "numpy")
    previous, _REUSED = _REUSED, (settings, split)
    try:
        yield
    finally:
        _REUSED = previous


class ExperimentDataModule(pl.LightningDataModule):
    """An experiment's ``data`` section (configs/*.yaml) as a LightningDataModule: its
    arguments are :class:`numpy_impl.run.schema.DataSchema`'s fields, with the same defaults
    (tests/test_schema.py holds the two equal), and the seed and precision the CLI links in.

    Args:
        dataset: ``"mnist"`` or ``"cifar10"``.
        split: ``"tdt4265"``, ``"tdt4265_binary"``, ``"dd2424"`` or ``"dd2424_all"``
            (see :mod:`numpy_impl.splits`).
        root: the data folder (torchvision's layout); None: the embedded MNIST subset.
        download: fetch missing files (MNIST, CIFAR-10) into ``root``.
        batch_size: the global mini-batch size (split across processes under DDP).
        shuffle: a new permutation before every epoch.
        flip: flip each training image horizontally with probability 0.5 (DD2424 2.1b).
        val_size: images held out for validation by ``"dd2424_all"``.
        seed: seeds the one generator (``make_rng``); the CLI links it to ``seed_everything``.
        backend: ``"numpy"`` (numpy_impl.data's readers) or ``"torchvision"``.
        precision: the Trainer's precision, which sets the arrays' dtype ("64-true" float64,
            "32-true" float32); the CLI links it to ``trainer.precision``.

    Attributes (for the models and the parity tool): ``rng`` (the generator, shared with the
    initialisation), ``split`` (the :class:`numpy_impl.splits.Split`, once loaded),
    ``initial_parameters`` (the model's, drawn once from ``rng`` before any epoch),
    ``tensors`` (``{"train"|"val"|"test": (X, Y)}`` views of the split), ``last_plan`` (the
    :class:`numpy_impl.draws.EpochPlan` of the latest training epoch), ``dtype``;
    ``announce`` (True: ``setup("fit")`` prints which data it loaded; compare, whose report
    names the data, sets it False).
    """

    announce = True

    def __init__(self, dataset: DatasetName, split: SplitName, batch_size: int,
                 root: str | None = None, download: bool = False, shuffle: bool = False,
                 flip: bool = False, val_size: int = 1000, backend: Backend = "numpy",
                 seed: int = 0, precision: Precision = "64-true") -> None:
        super().__init__()
        self.save_hyperparameters()
        self.dataset, self.split_name = dataset, split
        self.root = None if root in (None, "", "null") else str(root)
        self.download, self.batch_size = download, int(batch_size)
        self.shuffle, self.flip, self.val_size = shuffle, flip, val_size
        self.backend = backend
        if str(precision) not in PRECISIONS:
            raise ValueError(f"trainer.precision {precision!r} is not supported; use one of "
                             f"{', '.join(PRECISIONS)}")
        self.dtype = PRECISIONS[str(precision)]
        self.rng = draws.make_rng(seed)
        self.split: Split | None = None
        self._initial_parameters: dict[str, np.ndarray] | None = None
        self.tensors: dict[str, Batch] = {}
        self.last_plan: draws.EpochPlan | None = None
        self.flip_inds: np.ndarray | None = None

    @property
    def axis(self) -> int:
        """The sample axis of the split's arrays: 0 for rows, 1 for columns."""
        assert self.split is not None, "setup() loads the split"
        return 0 if self.split.layout == "rows" else 1

    @property
    def batches_per_epoch(self) -> int:
        """Full batches per epoch, as numpy_impl counts them (the last partial one dropped)."""
        return len(draws.batch_slices(self.tensors["train"][0].shape[self.axis], self.batch_size))

    def load_split(self, download: bool = False) -> Split:
        """numpy_impl's split for these settings, read by the chosen backend; within
        :func:`reusing` a split already loaded for the same settings, not a second copy."""
        settings = split_settings(self.dataset, self.split_name, self.root, self.val_size,
                                  self.dtype, self.backend)
        if _REUSED is not None and _REUSED[0] == settings:
            return _REUSED[1]
        return splits.load_split(self.dataset, self.split_name, self.root, download,
                                 self.val_size, self.dtype, readers(self.backend))

    @property
    def initial_parameters(self) -> dict[str, np.ndarray]:
        """The model's initial parameters for this split, in its dtype: the text's
        initialisation (:func:`numpy_impl.draws.initial_parameters`), drawn from ``rng`` once,
        before any epoch's permutation (the DD2424 text's order). Loads the split (downloading
        if asked) the first time."""
        if self._initial_parameters is None:
            if self.split is None:
                self.split = self.load_split(download=self.download)
            K, d = self.split.num_classes_and_inputs
            params = draws.initial_parameters(self.split.text, K, d, self.rng)
            self._initial_parameters = {k: v.astype(self.dtype) for k, v in params.items()}
        return self._initial_parameters

    def prepare_data(self) -> None:
        # Lightning calls this on one process per node: download there, once, and keep the
        # split for setup() (which every process runs).
        if self.download and self.split is None:
            self.split = self.load_split(download=True)

    def setup(self, stage: str) -> None:
        if self.split is None:
            self.split = self.load_split(download=False)
        split = self.split
        if stage == "fit" and self.announce:  # which data, above all the embedded subset
            sizes = ", ".join(f"{k} {v}" for k, v in split.sizes().items())
            rank_zero_only(print)(f"data: {split.description}\nimages: {sizes}")
        if self.flip:
            if split.layout != "columns":
                raise ValueError("data.flip is part of the DD2424 recipe (its splits only)")
            self.flip_inds = dd2424.flip_indices(*split.image_shape)
        self.tensors = {
            name: (torch.from_numpy(X), torch.from_numpy(Y))
            for name, X, Y in (("train", split.X_train, split.Y_train),
                               ("val", split.X_val, split.Y_val),
                               ("test", split.X_test, split.Y_test))
            if X is not None
        }

    @property
    def has_test(self) -> bool:
        return "test" in self.tensors

    def train_dataloader(self) -> TrainingBatches:
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer else (1, 0)
        return TrainingBatches(self, rank, world)

    def val_dataloader(self) -> list[WholeSet]:
        """Two loaders, as the texts validate: the whole validation set, then the whole
        training set (for the training accuracy)."""
        return [WholeSet(*self.tensors["val"]), WholeSet(*self.tensors["train"])]

    def test_dataloader(self) -> WholeSet:
        if not self.has_test:
            raise ValueError(f"the {self.split_name!r} split has no test set")
        return WholeSet(*self.tensors["test"])

    def state_dict(self) -> dict[str, Any]:
        # Saved in every checkpoint: a resumed run draws what an uninterrupted run would (from
        # mid-epoch, TrainingBatches holds the epoch's plan and this is past its draw).
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state_dict["rng"]


# ---------------------------------------------------------------------- the torchvision backend


def _torchvision_datasets() -> Any:
    try:
        from torchvision import datasets  # the optional extra; only ever imported here
    except ImportError as err:
        raise ImportError("--data.backend torchvision needs torchvision: pip install "
                          "'numpy-lightning-parity[torchvision]'") from err
    return datasets


def torchvision_mnist(root: str, train: bool, download: bool = False
                      ) -> tuple[np.ndarray, np.ndarray]:
    """MNIST through torchvision, as :func:`numpy_impl.data.load_mnist` returns it: images uint8
    (N, 784), labels int64 (N,)."""
    ds = _torchvision_datasets().MNIST(root, train=train, download=download)
    images = ds.data.numpy().reshape(len(ds.data), 28 * 28)
    return np.ascontiguousarray(images, dtype=np.uint8), ds.targets.numpy().astype(np.int64)


def torchvision_cifar10(root: str, download: bool = False
                        ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """CIFAR-10 through torchvision, as :func:`numpy_impl.data.load_cifar10` returns it: the
    batches ``data_batch_1..5`` and ``test_batch``, data uint8 (N, 3072) channel-major (as
    stored: 1024 R, then G, then B), labels int64 (N,)."""
    datasets = _torchvision_datasets()
    out = {}
    for train in (True, False):
        ds = datasets.CIFAR10(root, train=train, download=download)
        # torchvision turns the stored rows into N x 32 x 32 x 3 (HWC): undo that
        images = np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2).reshape(len(ds.data), 3072))
        labels = np.asarray(ds.targets, dtype=np.int64)
        if train:  # torchvision concatenates data_batch_1..5 in order; cut them apart again
            names = [f"data_batch_{i}" for i in range(1, splits.NUM_CIFAR_BATCHES + 1)]
            parts = zip(np.split(images, len(names)), np.split(labels, len(names)), strict=True)
            out.update(zip(names, parts, strict=True))
        else:
            out["test_batch"] = (images, labels)
    return out


def readers(backend: str) -> splits.Readers | ModuleType:
    """Where the split's raw arrays come from: numpy_impl.data, or torchvision's datasets."""
    if backend == "numpy":
        return numpy_data
    if backend != "torchvision":
        raise ValueError(f"data.backend is {backend!r}; expected 'numpy' or 'torchvision'")
    _torchvision_datasets()  # fail early, with the install hint
    return types.SimpleNamespace(load_mnist=torchvision_mnist, load_cifar10=torchvision_cifar10)
