"""The one schema: the three CLIs (python -m numpy_impl, python -m lightning_ref.fit,
python -m compare) refuse the same bad values with the same one line and exit code 2 before
training, accept the same experiment spellings, and report data errors with exit code 1."""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
import typing
from dataclasses import MISSING
from pathlib import Path

import pytest

from numpy_impl.run.exits import ExitCode
from numpy_impl.run.experiments import CONFIG_DIR, experiment_name, load_experiment
from numpy_impl.run.schema import TRAINER_ARGUMENTS, schema_fields, split_argv

REPO = Path(__file__).resolve().parent.parent
CLIS = ("numpy_impl", "lightning_ref.fit", "compare")
QUICK = ["--trainer.max_epochs", "1"]


def run_cli(cli: str, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", cli, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def call_main(cli: str, args: list[str], capsys: pytest.CaptureFixture
              ) -> tuple[int, str]:
    """A CLI's ``main(argv)`` in this process: its exit code and stderr (fit exits through
    SystemExit, as LightningCLI does; the others return their code)."""
    module = importlib.import_module(f"{cli}.__main__" if cli != "lightning_ref.fit" else cli)
    try:
        code = module.main(args)
        code = code if isinstance(code, int) else 0  # fit returns its final metrics
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def one_error_line(stderr: str) -> str:
    """The single ``error:`` line of a refused command (stderr holds nothing else)."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


BAD_FLAGS = [
    (["--model.lr", "0"], "error: --model.lr: 0 is not allowed: the learning rate must be > 0"),
    (["--model.lr", "-1"], "error: --model.lr: -1 is not allowed: the learning rate must be > 0"),
    (["--model.lam", "-1.0"], "error: --model.lam: -1.0 is not allowed: lambda must be >= 0"),
    (["--model.lam", "abc"], "error: --model.lam: 'abc' is not allowed: expected a number"),
    (["--trainer.max_epochs", "0"], "error: --trainer.max_epochs: 0 is not allowed: the number "
     "of epochs must be >= 1"),
    (["--trainer.max_epochs", "-1"], "error: --trainer.max_epochs: -1 is not allowed: the "
     "number of epochs must be >= 1 (the texts always give one; -1, Lightning's 'forever', is "
     "refused)"),
    (["--data.batch_size", "0"], "error: --data.batch_size: 0 is not allowed: the batch size "
     "must be >= 1"),
    (["--data.batch_size", "1.5"], "error: --data.batch_size: 1.5 is not allowed: expected an "
     "integer"),
    (["--model.class_path", "Foo"], "error: --model.class_path: 'Foo' is not allowed: expected "
     "one of TDT4265Binary, TDT4265Softmax, DD2424Softmax, DD2424MultiBCE"),
    (["--model.foo", "1"], "error: --model.foo: 1 is not allowed: unknown field of model"),
    (["--data.foo", "1"], "error: --data.foo: 1 is not allowed: unknown field of data"),
    (["--trainer.foo", "1"], "error: --trainer.foo: 1 is not allowed: unknown field of trainer"),
]


@pytest.mark.parametrize("cli", CLIS)
@pytest.mark.parametrize(("flags", "expected"), BAD_FLAGS,
                         ids=[" ".join(flags) for flags, _ in BAD_FLAGS])
def test_bad_flags_are_refused_alike(cli: str, flags: list[str], expected: str,
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    code, stderr = call_main(cli, ["tdt4265/task2b", *QUICK, *flags], capsys)
    assert code == 2
    assert one_error_line(stderr).startswith(expected)
    assert not (tmp_path / "runs").exists()  # refused before anything ran


@pytest.mark.parametrize("cli", CLIS)
def test_bad_values_in_a_config_file_name_the_file_and_field(
        cli: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    text = (CONFIG_DIR / "tdt4265" / "task2b.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("lr: 0.05", "lr: 0"))
    code, stderr = call_main(cli, ["--config", str(bad)], capsys)
    assert code == 2
    assert one_error_line(stderr) == (
        "error: bad.yaml: model.lr: 0 is not allowed: the learning rate must be > 0")
    bad.write_text(text.replace("  shuffle: false", "  shuffle: false\n  foo: 1"))
    code, stderr = call_main(cli, [str(bad)], capsys)  # the path given positionally
    assert code == 2
    assert one_error_line(stderr).startswith(
        "error: bad.yaml: data.foo: 1 is not allowed: unknown field of data")


@pytest.mark.parametrize("cli", CLIS)
def test_a_batch_larger_than_the_training_set(cli: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    code, stderr = call_main(cli, ["tdt4265/task2b", "--data.batch_size", "801", *QUICK,
                                   "--trainer.enable_progress_bar", "false"], capsys)
    assert code == 2
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: --data.batch_size: 801 is not allowed: the batch size must be at "
                      "most the training set's size (800 images)"]


@pytest.mark.parametrize("cli", CLIS)
def test_missing_data_is_exit_code_4(cli: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    code, stderr = call_main(cli, ["dd2424/setting1", "--data.root", str(tmp_path),
                                   "--trainer.enable_progress_bar", "false"], capsys)
    assert code == ExitCode.DATA == 4
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "data_batch_1" in errors[0]


@pytest.mark.slow
@pytest.mark.parametrize("cli", CLIS)
def test_help(cli: str) -> None:
    """A subprocess: fit's short --help is printed before torch loads, when run as a module."""
    result = run_cli(cli, "--help")
    assert result.returncode == 0, result.stderr
    assert "--config" in result.stdout and "--model" in result.stdout


@pytest.mark.parametrize("cli", CLIS)
def test_a_yaml_path_given_positionally_runs(cli: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(REPO)
    args = [str(Path("configs", "tdt4265", "task2b.yaml").absolute()) if cli == "compare"
            else "configs/tdt4265/task2b.yaml"]
    extra = {"numpy_impl": ["--runs-dir", str(tmp_path)], "compare": ["--steps", "2",
             "--no-progress", "--log-dir", str(tmp_path)],
             "lightning_ref.fit": ["--trainer.limit_train_batches", "2",
                                   "--trainer.enable_progress_bar", "false",
                                   "--trainer.logger", "false",
                                   "--trainer.default_root_dir", str(tmp_path)]}[cli]
    code, stderr = call_main(cli, [*args, *QUICK, *extra], capsys)
    assert code == 0, stderr


def test_the_trainer_arguments_are_lightnings() -> None:
    import pytorch_lightning as pl

    parameters = set(inspect.signature(pl.Trainer.__init__).parameters) - {"self"}
    assert parameters == TRAINER_ARGUMENTS


@pytest.mark.parametrize("section", ["model", "data"])
def test_the_lightning_modules_take_the_schemas_fields(section: str) -> None:
    """ParityModule's and ExperimentDataModule's arguments are the schema's fields, with the
    same types and defaults (LightningCLI builds --model.X and --data.X from the signatures),
    besides what the CLI links in (the initial parameters, the seed, the precision)."""
    from lightning_ref import ExperimentDataModule, ParityModule

    cls, linked = {"model": (ParityModule, {"initial_parameters"}),
                   "data": (ExperimentDataModule, {"seed", "precision"})}[section]
    hints = typing.get_type_hints(cls.__init__)
    signature = {name: (hints[name], parameter.default)
                 for name, parameter in inspect.signature(cls).parameters.items()
                 if name not in linked}
    fields = {name: (hint, inspect.Parameter.empty if default is MISSING else default)
              for name, (hint, default, _) in schema_fields(section).items()}
    assert signature == fields


def test_one_experiment_name_rule(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(REPO)
    assert experiment_name("configs/tdt4265/task2b.yaml") == "tdt4265/task2b"
    assert experiment_name(CONFIG_DIR / "dd2424" / "setting1.yaml") == "dd2424/setting1"
    assert experiment_name(tmp_path / "mine.yaml") == "mine"
    assert load_experiment("configs/tdt4265/task2b.yaml").name == "tdt4265/task2b"


def test_the_command_line_spellings() -> None:
    parts = split_argv(["x", "--model", "TDT4265Softmax", "--model.init_args.lam=0.1",
                        "--data.root", "null", "--config", "a.yaml", "--steps", "3"])
    assert parts.overrides == {"model.class_path": "TDT4265Softmax", "model.lam": 0.1,
                               "data.root": None}
    assert parts.flags["model.lam"] == "--model.init_args.lam"
    assert parts.configs == ["a.yaml"] and parts.rest == ["x", "--steps", "3"]
    with pytest.raises(ValueError, match="--model.lam: needs a value"):
        split_argv(["--model.lam"])


@pytest.mark.parametrize("cli", ["numpy_impl", "compare", "lightning_ref.fit"])
def test_ckpt_path_and_resume_together_are_refused(cli: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    """Every CLI takes the same --ckpt_path and --resume and refuses the two together, before
    it looks for any checkpoint."""
    code, stderr = call_main(cli, ["tdt4265/task2b", "--resume", "--ckpt_path",
                                   str(tmp_path / "x")], capsys)
    assert (code, stderr) == (ExitCode.USAGE, "error: --resume: true is not allowed: "
                              "--ckpt_path already names the checkpoint\n")
