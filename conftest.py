"""Fixtures shared by tests/ and the parity suite compare/tests/ (pytest loads this root
conftest for both), and the suite's one Hypothesis profile."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.fakes import write_cifar_root

# The suite's one Hypothesis profile: enough examples to find a shape or sign bug, no deadline
# (the first example of a test pays for imports and a worker start). HYPOTHESIS_PROFILE=thorough
# runs ten times as many.
settings.register_profile("project", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=250, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "project"))


@pytest.fixture
def http_root(tmp_path: Path) -> Path:
    """The folder that ``local_http_server`` serves; tests put their files here."""
    root = tmp_path / "www"
    root.mkdir()
    return root


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def local_http_server(http_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 (free port) serving ``http_root``; yields its base URL."""
    # a proxy set in the environment must not swallow requests to the loopback server
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    handler = functools.partial(_QuietHandler, directory=str(http_root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="session")
def cifar_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CIFAR-10's five training batches and test batch, 200 random images each, in the real
    pickle format under ``<root>/cifar-10-batches-py/``."""
    root = tmp_path_factory.mktemp("cifar")
    write_cifar_root(root, n_per_batch=200, seed=0)
    return root


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    """A fresh folder for one test's TensorBoard runs."""
    return tmp_path / "runs"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``pytest compare/ --submission PATH --assignment tdt4265``: every check of compare.check
    on that hand-in as one test each (compare/tests/test_submission.py)."""
    group = parser.getgroup("compare.check")
    group.addoption("--submission", default=None, help="a hand-in to check (folder or .py)")
    group.addoption("--assignment", default="tdt4265", choices=["tdt4265", "dd2424"],
                    help="the assignment the hand-in answers")
    group.addoption("--check-quick", action="store_true", help="leave out lockstep training")
