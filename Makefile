# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The exact versions to install: written by tools/lock.py (`make lock`, `make upgrade`).
LOCK := requirements.lock

.PHONY: demo test bench lint typecheck format lock upgrade clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the package metadata or the lock changes: the second run is quick.
$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --constraint $(LOCK) pip
	$(BIN)/python -m pip install --quiet --constraint $(LOCK) -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/beamshell -s demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools examples
	$(BIN)/ruff format --check src tests benchmarks tools examples

# mypy, strict except for the modules pyproject.toml lists to fix (a list that only shrinks).
typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks tools examples
	$(BIN)/ruff check --fix src tests benchmarks tools examples

# After adding a dependency to pyproject.toml: pin it, keeping every other version.
lock: | $(BIN)/python
	$(BIN)/python tools/lock.py

# The newest versions that pyproject.toml's caps allow, installed and tested.
upgrade: | $(BIN)/python
	$(BIN)/python tools/lock.py --upgrade
	$(MAKE) test

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache
