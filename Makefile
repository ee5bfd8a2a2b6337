# Two commands: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO ?=
PORT ?= 8000

.PHONY: setup run test lint typecheck unit bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/eastwest run --port $(PORT) $(if $(DEMO),--demo,)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

# The unit tests alone: no nats-server, no database, no network; well under a minute.
unit: setup
	$(BIN)/pytest tests/unit -q

bench: setup
	$(BIN)/python bench/feed_latency.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
