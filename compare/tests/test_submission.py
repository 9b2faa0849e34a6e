"""The checks of compare.check as pytest items: ``pytest compare/ --submission PATH
--assignment tdt4265`` runs every check on that hand-in as one test each, with the checker's
messages. Without --submission these tests are skipped."""

from __future__ import annotations

import functools

import pytest

from compare.check import SubmissionResult, check
from compare.check.runner import check_ids


@functools.cache
def _result(assignment: str, path: str, quick: bool) -> SubmissionResult:
    return check(assignment, path, quick=quick)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "check_id" in metafunc.fixturenames:
        config = metafunc.config
        quick = config.getoption("--check-quick")
        metafunc.parametrize("check_id", check_ids(config.getoption("--assignment"), quick))


def test_check(check_id: str, request: pytest.FixtureRequest) -> None:
    config = request.config
    path = config.getoption("--submission")
    if path is None:
        pytest.skip("no --submission given")
    result = _result(config.getoption("--assignment"), path, config.getoption("--check-quick"))
    outcome = result.by_id()[check_id]
    if outcome.status == "skip":
        pytest.skip(outcome.message)
    if outcome.status in ("fail", "error"):
        pytest.fail(f"[{outcome.status}] {outcome.message}", pytrace=False)
