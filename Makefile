# personalize-gitops developer commands. Needs only python3 (with venv and pip) on PATH.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RELEASE_VENV := .venv-release
RELEASE_STAMP := $(RELEASE_VENV)/.installed

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

# the release tools (build, setuptools, twine) exactly as the release workflow installs them: pinned with hashes
$(RELEASE_STAMP): .ci/release-requirements.txt
	rm -rf $(RELEASE_VENV)
	$(PY) -m venv $(RELEASE_VENV)
	$(RELEASE_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps --only-binary :all: -r .ci/release-requirements.txt
	touch $(RELEASE_STAMP)

# release artifacts exactly as the release workflow builds them (sdist + wheel in dist/, twine-checked)
dist: $(RELEASE_STAMP)
	rm -rf dist
	$(RELEASE_VENV)/bin/python -m build --no-isolation --outdir dist .
	$(RELEASE_VENV)/bin/python -m twine check --strict dist/*

# build, then install the wheel and the sdist into new venvs and run the user-facing commands from outside the
# checkout (the same script as the release workflow's check job)
wheel-check: $(RELEASE_STAMP)
	$(RELEASE_VENV)/bin/python tests/packaging/wheel_check.py --dist dist

clean:
	rm -rf $(VENV) $(RELEASE_VENV) .mypy_cache .ruff_cache build dist *.egg-info
