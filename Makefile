# personalize-gitops developer commands. Needs only python3 (with venv and pip) on PATH.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lint types test test-fast demo bench soak golden clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check reconciler tests benchmarks
	$(BIN)/ruff format --check reconciler tests benchmarks

types: $(STAMP)
	$(BIN)/mypy

test: lint types
	$(BIN)/python -m pytest -q -m "not soak"

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -x -m "not soak and not slow"

golden: $(STAMP)
	$(BIN)/python -m pytest -q tests --update-golden -k golden

demo: $(STAMP)
	$(BIN)/python -m reconciler.demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks

soak: $(STAMP)
	$(BIN)/python -m pytest -q -m soak

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache build *.egg-info
