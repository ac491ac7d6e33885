# personalize-gitops developer commands. Needs only python3 (with venv and pip) on PATH.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lint types test test-fast demo bench soak golden dist wheel-check clean

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

# release artifacts exactly as the release workflow builds them (sdist + wheel in dist/, twine-checked)
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .
	$(BIN)/python -m twine check --strict dist/*

# build, then install the wheel into a new venv and run the user-facing commands from outside the checkout
wheel-check: $(STAMP)
	$(BIN)/python tests/packaging/wheel_check.py --dist dist

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache build dist *.egg-info
