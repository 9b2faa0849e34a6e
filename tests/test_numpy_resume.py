"""Save and resume, interruption, divergence and determinism of the NumPy trainers and of
``python -m numpy_impl`` (issue 13, the NumPy half)."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from numpy_impl import dd2424
from numpy_impl.__main__ import main
from numpy_impl.draws import make_rng
from numpy_impl.run.experiments import experiment_split, load_experiment
from numpy_impl.run.train import dd2424_arguments, run_experiment, tdt4265_trainer
from numpy_impl.steps import StepRecord, TrainerState

MNIST_DD2424 = {"data.dataset": "mnist", "data.root": None}
REPO = Path(__file__).resolve().parents[1]


class _Stop(BaseException):
    pass


def _checkpoint_at(step: int) -> tuple[Any, dict[str, TrainerState]]:
    """A hook that stops training at ``step`` and keeps its checkpoint, written to and read
    back from .npz bytes as python -m numpy_impl does."""
    kept: dict[str, TrainerState] = {}

    def hook(record: Any) -> None:
        if isinstance(record, StepRecord) and record.step == step:
            kept["state"] = TrainerState.load(io.BytesIO(record.state().to_npz()))
            raise _Stop

    return hook, kept


# 25 batches per epoch, a validation after every 5th step: step 7 is followed by none, step
# 10 by one (the resumed run does it first); both are mid-epoch.
@pytest.mark.parametrize("step", [7, 10, 24])
def test_tdt4265_resumes_bit_for_bit(step: int) -> None:
    exp = load_experiment("tdt4265/task2e", {"data.batch_size": 32})
    split = experiment_split(exp)
    reference = tdt4265_trainer(exp, split, make_rng(exp.seed))
    histories = reference.train(exp.max_epochs)
    assert reference.stopped_step is not None and reference.stopped_step > step + 10

    hook, kept = _checkpoint_at(step)
    with pytest.raises(_Stop):
        tdt4265_trainer(exp, split, make_rng(exp.seed)).train(exp.max_epochs, on_step=hook)
    state = kept["state"]
    assert (state.step, state.pending) == (step, True)
    resumed = tdt4265_trainer(exp, split, make_rng(12345))  # the state sets the generator
    assert resumed.train(exp.max_epochs, state=state) == histories
    assert np.array_equal(resumed.model.w, reference.model.w)
    assert (resumed.best_step, resumed.stopped_step) == (reference.best_step,
                                                         reference.stopped_step)


@pytest.mark.parametrize("overrides", [
    {"data.flip": True},
    {"model.lr_step_epochs": 2, "model.lr": 0.05},
    {"model.lr_plateau_patience": 0, "model.lr": 0.5},
], ids=["shuffle_flips", "step_decay", "plateau_decay"])
@pytest.mark.parametrize("step", [13, 15])  # mid-epoch; the last of epoch 1 (8 per epoch)
def test_dd2424_resumes_bit_for_bit(overrides: dict[str, Any], step: int) -> None:
    exp = load_experiment("dd2424/setting2", {**MNIST_DD2424, "trainer.max_epochs": 5,
                                              **overrides})
    split = experiment_split(exp)
    rng = make_rng(exp.seed)
    network, history = dd2424.mini_batch_gd(**dd2424_arguments(exp, split, rng))
    assert len(set(history["eta"])) > 1 or "data.flip" in overrides  # the decay did decay

    hook, kept = _checkpoint_at(step)
    rng = make_rng(exp.seed)
    with pytest.raises(_Stop):
        dd2424.mini_batch_gd(**dd2424_arguments(exp, split, rng), on_step=hook)
    arguments = dd2424_arguments(exp, split, make_rng(777))
    resumed, resumed_history = dd2424.mini_batch_gd(**arguments, state=kept["state"])
    assert resumed_history == history
    for name in network:
        assert np.array_equal(resumed[name], network[name])


def test_same_seed_same_weights() -> None:
    """Two runs of one seed and definition: bit-identical weights (shuffled TDT4265, DD2424
    with shuffling and flips); another seed differs."""
    for name, overrides in [("tdt4265/task2e", {}),
                            ("dd2424/setting2", {**MNIST_DD2424, "data.flip": True,
                                                 "trainer.max_epochs": 3})]:
        exp = load_experiment(name, overrides)
        first, second = (run_experiment(exp, None, verbose=False) for _ in range(2))
        other = run_experiment(load_experiment(name, {**overrides, "seed_everything": 7}),
                               None, verbose=False)
        for key in first.params:
            assert np.array_equal(first.params[key], second.params[key])
        assert not all(np.array_equal(first.params[k], other.params[k]) for k in first.params)


def _cli(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # --progress: the bar on stderr (a pipe here) shows how many steps are done
    return subprocess.Popen([sys.executable, "-m", "numpy_impl", *args, "--progress"], cwd=cwd,
                            env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_step(proc: subprocess.Popen, step: int) -> bytes:
    """Read the progress bar on stderr until it shows ``step`` steps done."""
    seen = b""
    while True:
        chunk = os.read(proc.stderr.fileno(), 4096)
        assert chunk, f"the run ended before step {step}: {seen.decode()[-2000:]}"
        seen += chunk
        done = [int(n) for n in re.findall(rb"\| *(\d+)/\d+ \[", seen)]
        if done and max(done) >= step:
            return seen


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code", "name", "args"), [
    # long enough (tens of thousands of tiny steps) that the signal comes well before the end:
    # the progress bar on stderr shows the 20th step only at its next refresh
    (signal.SIGTERM, 143, "tdt4265/task2e", ["--data.batch_size", "4", "--trainer.max_epochs",
                                             "100", "--model.early_stopping_patience", "null"]),
    (signal.SIGINT, 130, "dd2424/setting2", ["--data.dataset", "mnist", "--data.root", "null",
                                             "--data.flip", "true", "--data.batch_size", "2",
                                             "--trainer.max_epochs", "10"]),
], ids=["sigterm_tdt4265", "sigint_dd2424"])
def test_signal_saves_a_checkpoint_that_resumes_bit_for_bit(
        tmp_path: Path, signum: int, code: int, name: str, args: list[str]) -> None:
    proc = _cli(name, *args, cwd=tmp_path)
    _wait_for_step(proc, 20)
    proc.send_signal(signum)
    _, rest = proc.communicate(timeout=120)
    assert proc.returncode == code
    last_line = rest.decode().strip().splitlines()[-1]
    match = re.fullmatch(r"interrupted \(SIG(INT|TERM)\) after step (\d+): checkpoint in (\S+); "
                         r"resume with: (.+ --ckpt_path \S+)", last_line)
    assert match, last_line
    checkpoint = tmp_path / match.group(3)
    state = TrainerState.load(checkpoint)
    assert state.step == int(match.group(2)) >= 20
    assert 0 < state.batch < 1000  # mid-epoch: 1,000 (TDT4265) or 400 (DD2424) per epoch
    assert (checkpoint.parent / "history.json").is_file()

    resumed = _cli(name, *args, "--ckpt_path", str(checkpoint), cwd=tmp_path)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()[-2000:]
    run_dir = Path(re.search(rb"in (\S+version_1)/", out).group(1).decode())
    overrides = dict(zip([a.removeprefix("--") for a in args[::2]],
                         [None if v == "null" else v for v in args[1::2]], strict=True))
    exp = load_experiment(name, {k: _scalar(v) for k, v in overrides.items()})
    reference = run_experiment(exp, None, verbose=False)
    with np.load(tmp_path / run_dir / "weights.npz") as weights:
        for key, value in reference.params.items():
            assert weights[key].dtype == np.float64
            assert np.array_equal(weights[key], value)


def _scalar(text: str | None) -> Any:
    import yaml

    return None if text is None else yaml.safe_load(text)


def test_divergence_stops_with_one_line_and_exit_1(tmp_path: Path, capsys) -> None:
    """lambda > 0 makes a huge lr explode (w grows by |1 - 2 lr lambda| per step): in float64
    the validation cost J overflows first, in float32 the batch cost."""
    argv = ["tdt4265/task3b", "--model.lr", "1e6", "--model.lam", "1", "--runs-dir",
            str(tmp_path)]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == ("error: training diverged: the validation cost J at step 24 (epoch 0) is "
                   "inf; try a smaller learning rate (model.lr is 1000000.0)")
    metrics = (tmp_path / "tdt4265/task3b/version_0/metrics.json").read_text()
    assert '"value": null' in metrics and "NaN" not in metrics and "Infinity" not in metrics
    assert main([*argv, "--trainer.precision", "32-true"]) == 1
    assert "the cost J of the batch at step 4" in capsys.readouterr().err


def test_eta_0_1_is_erratic_not_divergent(tmp_path: Path) -> None:
    assert main(["dd2424/setting1", "--data.dataset", "mnist", "--data.root", "null",
                 "--runs-dir", str(tmp_path)]) == 0


@pytest.mark.parametrize("path", ["missing.npz", "experiment.yaml"])
def test_a_bad_ckpt_path_is_one_line_and_exit_2(tmp_path: Path, capsys, path: str) -> None:
    (tmp_path / "experiment.yaml").write_text("not a checkpoint")
    assert main(["tdt4265/task2b", "--ckpt_path", str(tmp_path / path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --ckpt_path") and err.count("\n") == 1
