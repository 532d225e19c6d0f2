# Two commands for a fresh clone: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export KEDRO_DISABLE_TELEMETRY := true

.PHONY: install run test lint format viz clean-data

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: install  ## install everything and run the default pipeline (`kedro run`)
	$(BIN)/kedro run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint  ## install everything, lint, and run the whole test suite
	$(BIN)/python -m pytest

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

viz: install
	$(BIN)/kedro viz run --host 127.0.0.1
