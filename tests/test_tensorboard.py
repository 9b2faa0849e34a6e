"""What a finished run leaves for TensorBoard: the scalar tags, the class-template images and the
multiple-BCE histograms, read back from the event files (EventAccumulator) and through a real
TensorBoard server's HTTP data API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lightning_ref.figures import HISTOGRAM_TAGS, TEMPLATES_TAG
from lightning_ref.fit import main
from numpy_impl.run.experiments import CONFIG_DIR
from tests.fakes import write_cifar_root

TAGS = {"train/loss", "train/cost", "train/acc", "val/loss", "val/cost", "val/acc", "lr"}
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two finished runs under one log root: DD2424 multiple BCE (epoch validation, a test set)
    on generated CIFAR-10 batches, and TDT4265 task 2d (the starter's validation cadence)."""
    tmp = tmp_path_factory.mktemp("tb")
    write_cifar_root(tmp / "cifar", n_per_batch=200, seed=1)
    root = tmp / "runs"
    main(["--config", str(CONFIG_DIR / "dd2424" / "bonus_multi_bce.yaml"),
          "--data.root", str(tmp / "cifar"), "--trainer.max_epochs", "2",
          "--trainer.logger", "TensorBoardLogger", "--trainer.logger.save_dir", str(root),
          "--trainer.logger.name", "multi_bce", *QUIET])
    main(["--config", str(CONFIG_DIR / "tdt4265" / "task2d.yaml"), "--trainer.max_epochs", "1",
          "--trainer.logger", "TensorBoardLogger", "--trainer.logger.save_dir", str(root),
          "--trainer.logger.name", "task2d", *QUIET])
    return root


def accumulate(run_dir: Path) -> EventAccumulator:
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0,
                                                           "histograms": 0})
    events.Reload()
    return events


def test_event_files_hold_the_tags(runs: Path) -> None:
    bce = accumulate(runs / "multi_bce" / "version_0")
    tags = bce.Tags()
    assert TAGS | {"test/acc"} <= set(tags["scalars"])
    assert [e.step for e in bce.Scalars("train/loss")] == list(range(4))  # 2 epochs of 2 batches
    assert len(bce.Scalars("val/loss")) == 2 and len(bce.Scalars("test/acc")) == 1
    assert TEMPLATES_TAG in tags["images"]
    (image,) = bce.Images(TEMPLATES_TAG)
    assert image.width % 32 == 0 and image.height % 32 == 0  # 32x32 tiles, one per class
    assert set(HISTOGRAM_TAGS.values()) <= set(tags["histograms"])
    counts = sum(bce.Histograms(t)[0].histogram_value.num for t in HISTOGRAM_TAGS.values())
    assert counts == 200  # every test image, correct or not

    tdt = accumulate(runs / "task2d" / "version_0")
    assert TAGS <= set(tdt.Tags()["scalars"])
    # 800 training images of 2s and 3s, 6 batches: the starter validates after every step
    assert [e.step for e in tdt.Scalars("val/loss")] == list(range(6))
    (image,) = tdt.Images(TEMPLATES_TAG)
    assert (image.width, image.height) == (28, 28)  # one digit: w (785, 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> object:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    with opener.open(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_tensorboard_server_shows_the_scalars(runs: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(runs), "--host", "127.0.0.1",
         "--port", str(port), "--reload_interval", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, tags = time.monotonic() + 90, {}
        while time.monotonic() < deadline:
            assert server.poll() is None, f"tensorboard exited: {server.stderr.read()}"
            try:
                tags = get_json(f"{base}/data/plugin/scalars/tags")
            except OSError:  # not listening yet
                tags = {}
            if {"multi_bce/version_0", "task2d/version_0"} <= set(tags):
                break
            time.sleep(0.5)
        assert TAGS | {"test/acc"} <= set(tags["multi_bce/version_0"])
        assert TAGS <= set(tags["task2d/version_0"])
        query = urllib.parse.urlencode({"run": "multi_bce/version_0", "tag": "train/loss"})
        points = get_json(f"{base}/data/plugin/scalars/scalars?{query}")
        assert [p[1] for p in points] == list(range(4))  # [wall_time, step, value]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
