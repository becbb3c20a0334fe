# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# pytest-xdist workers: JOBS=N sets them, JOBS=0 runs in one process. By default unit
# and UI (CPU-bound) get one worker per core; the whole suite, which mostly waits on
# sandbox holds and real servers, one more than the cores (with two per core, three
# sandbox fleets at once starved each other: internal calls timed out into canary 5xx
# that tripped the wrong stop criterion). --dist loadgroup: tests sharing a
# module fixture (a PostgreSQL cluster, a fleet) stay on one worker, so it starts once;
# the rest go to whichever worker is free (tests/conftest.py).
JOBS ?=
xdist = $(if $(filter 0,$(1)),,-n $(1) --dist loadgroup)
FAST_XDIST := $(call xdist,$(or $(JOBS),auto))
FULL_XDIST := $(call xdist,$(or $(JOBS),$(shell echo $$(( $$(nproc 2>/dev/null || echo 2) + 1 )))))

.PHONY: install demo docs test test-fast lint wheel clean bench

# A strict editable install is a tree of links under build/, so that mypy and
# import-linter find gonogo.checks, gonogo.screens and gonogo.themes under their import
# names. The tree gains or loses files only at install time: a change in the list of
# the package's files (not their contents) reinstalls.
PACKAGE_FILES := $(shell find src checks screens themes -type f ! -path '*/__pycache__/*' 2>/dev/null | LC_ALL=C sort)
MANIFEST := $(VENV)/.package-files
$(shell mkdir -p $(VENV) && printf '%s\n' $(PACKAGE_FILES) > $(MANIFEST).new && { cmp -s $(MANIFEST).new $(MANIFEST) || mv $(MANIFEST).new $(MANIFEST); }; rm -f $(MANIFEST).new)

$(VENV)/.installed: pyproject.toml $(MANIFEST)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]' --config-settings editable_mode=strict
	touch $@

install: $(VENV)/.installed

# The demo needs the panel only: without the test extras (pytest, hypothesis, ruff,
# mypy, build...). A venv that already has them (make install/test) is used as it is.
$(VENV)/.installed-demo: pyproject.toml $(MANIFEST)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e . --config-settings editable_mode=strict
	touch $@

DEMO_VENV := $(if $(wildcard $(VENV)/.installed),$(VENV)/.installed,$(VENV)/.installed-demo)

demo: $(DEMO_VENV)
	$(VENV)/bin/gonogo demo

# The generated parts of docs/ (config keys, check kinds, CLI, exit codes, environment
# variables); the hand-written descriptions are kept.
docs: $(VENV)/.installed
	$(PY) docs/generate.py

# ruff, mypy (strict on the core) and the import-linter contracts; all three always run.
lint: $(VENV)/.installed
	@status=0; \
	echo "--- ruff"; $(VENV)/bin/ruff check src checks screens tests bench || status=1; \
	echo "--- mypy"; $(VENV)/bin/mypy || status=1; \
	echo "--- import-linter"; $(VENV)/bin/lint-imports --no-cache || status=1; \
	exit $$status

# The unit and UI tiers: no servers, no subprocess fleets, no terminal.
test-fast: $(VENV)/.installed
	$(PY) -m pytest $(FAST_XDIST) tests/unit tests/ui $(PYTEST_ARGS)

# Everything: unit, integration (real servers), ui, system (sandbox, CLI, tmux).
test: $(VENV)/.installed
	$(PY) -m pytest $(FULL_XDIST) $(PYTEST_ARGS)

# The performance figures of BENCHMARKS.md, each beside its budget and its anchor
# measured in the same run (minutes; needs tmux). Not part of the tests.
# BENCH=fanout runs one; BENCH_ARGS=--record writes the table into BENCHMARKS.md.
bench: $(VENV)/.installed
	$(PY) bench/run.py $(BENCH) $(BENCH_ARGS)

wheel: $(VENV)/.installed
	$(PY) -m build --wheel --outdir dist .

clean:
	rm -rf $(VENV) dist build *.egg-info src/*.egg-info .mypy_cache
