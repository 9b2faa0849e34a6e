# Two commands for a fresh clone: `make demo` and `make test` (README, Quickstart).
# Both build .venv/ once (idempotent: the stamp is rebuilt only when pyproject.toml changes).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXPERIMENT ?= tdt4265/task2b

.PHONY: demo test test-fast test-torchvision lint bench clean sandbox-tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: here a local CPU wheel; unpinned it pulls GBs of CUDA packages.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m compare $(EXPERIMENT)

# compare.check's namespace sandbox needs bubblewrap (and setpriv, util-linux): installed from
# the system's packages when missing and this is root on Debian/Ubuntu; otherwise a note, and
# the namespace tests skip (never in CI: tests/test_hostile.py fails there without it).
sandbox-tools:
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && { apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; } ; } \
	  || echo "note: bubblewrap is not installed; compare.check falls back to --sandbox process"

test: $(STAMP) sandbox-tools
	$(PY) -m ruff check .
	$(PY) -m pytest

# The inner loop: the suite without the tests marked slow (subprocesses, long runs); under a
# minute. `make test` stays the whole suite.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

# The optional torchvision backend, in its own environment: torchvision pins its own torch,
# whose only CPU-usable build here is a 5.5 GB CUDA one (see docs/lightning.md).
TV_VENV := .venv-torchvision
$(TV_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(TV_VENV)
	$(TV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TV_VENV)/bin/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(TV_VENV)/bin/python -m pip install --quiet -e '.[dev,torchvision]'
	touch $@

test-torchvision: $(TV_VENV)/.installed
	$(TV_VENV)/bin/python -m pytest tests/test_torchvision_backend.py

# The benchmark (docs/performance.md); `make test` runs it once with --quick (tests/test_bench.py).
bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) $(TV_VENV) runs
