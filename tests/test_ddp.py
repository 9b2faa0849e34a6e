"""Data parallelism makes the same updates as one process: a 2-process DDP run (CPU, gloo) ends
with the same weights as a 1-process run, to float64 round-off.

Each rank takes an equal contiguous share of every global batch, so DDP's average of the
ranks' gradients is the whole batch's gradient. The runs go through this file as a script
(``python tests/test_ddp.py OUT DEVICES``) in a subprocess: Lightning's DDP launcher starts the
other rank by running the same command again, which pytest's own process cannot be.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
# (model, init args, data module args, epochs): both layouts, L2, shuffling, flips, the
# starter's validation cadence and early stopping's checkpoints
RUNS = {
    "dd2424": ("DD2424Softmax", {"lr": 0.05, "lam": 0.01},
               {"dataset": "mnist", "split": "dd2424", "batch_size": 100, "shuffle": True,
                "flip": True, "seed": 3}, 2),
    "tdt4265": ("TDT4265Softmax", {"lr": 0.05, "lam": 0.01, "validation": "starter",
                                   "early_stopping_patience": 3},
                {"dataset": "mnist", "split": "tdt4265", "batch_size": 128, "shuffle": True,
                 "seed": 4}, 1),
}


def train(out: Path, devices: int) -> None:
    """Fit every run of RUNS on ``devices`` CPU processes; rank 0 saves the final weights, and
    every rank the number of training samples per batch it computed with."""
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import Callback

    from lightning_ref import MODELS, ExperimentDataModule
    from lightning_ref.fit import lightning_validation_batches

    class SamplesSeen(Callback):
        def __init__(self) -> None:
            self.sizes: list[int] = []

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            self.sizes.append(batch[0].shape[0 if pl_module.record.layout == "rows" else 1])

    weights, seen = {}, {}
    for name, (model_name, model_args, data_args, epochs) in RUNS.items():
        datamodule = ExperimentDataModule(**data_args)
        model = MODELS[model_name](**model_args, initial_parameters=datamodule.initial_parameters)
        samples = SamplesSeen()
        trainer = pl.Trainer(
            accelerator="cpu", devices=devices, strategy="ddp" if devices > 1 else "auto",
            limit_val_batches=lightning_validation_batches(model.validation),
            max_epochs=epochs, precision="64-true", logger=False, callbacks=[samples],
            default_root_dir=out.parent / f"{name}-{devices}", enable_progress_bar=False,
            enable_model_summary=False)
        trainer.fit(model, datamodule=datamodule)
        weights.update({f"{name}/{k}": p.detach().numpy() for k, p in model.named_parameters()})
        seen[name] = samples.sizes
    if trainer.is_global_zero:
        np.savez(out, **weights)
    np.savez(out.with_suffix(f".rank{trainer.global_rank}.npz"), **seen)


def run(tmp_path: Path, devices: int) -> dict[str, np.ndarray]:
    out = tmp_path / f"weights-{devices}.npz"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, __file__, str(out), str(devices)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    with np.load(out) as saved:
        return dict(saved)


def samples_seen(tmp_path: Path, devices: int, rank: int) -> dict[str, np.ndarray]:
    with np.load(tmp_path / f"weights-{devices}.rank{rank}.npz") as saved:
        return dict(saved)


@pytest.mark.slow
def test_ddp_two_processes_make_the_same_updates_as_one(tmp_path: Path) -> None:
    one, two = run(tmp_path, 1), run(tmp_path, 2)
    # each rank computed with its half of every batch (not the whole batch twice)
    whole = samples_seen(tmp_path, 1, 0)
    for rank in (0, 1):
        for name, sizes in samples_seen(tmp_path, 2, rank).items():
            assert len(sizes) == len(whole[name]) > 0
            assert (sizes * 2 == whole[name]).all(), name
    assert one.keys() == two.keys() == {"dd2424/W", "dd2424/b", "tdt4265/w"}
    assert one["tdt4265/w"].shape == (785, 10)
    for key, value in one.items():
        assert np.abs(value).max() > 0, key  # it trained
        assert np.abs(two[key] - value).max() <= 1e-12 * np.abs(value).max(), key


if __name__ == "__main__":
    train(Path(sys.argv[1]), int(sys.argv[2]))
