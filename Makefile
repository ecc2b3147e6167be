# cpplan: the two everyday commands.
#   make run    the embedded Temporal dev server + UI, the worker and a demo plan (Ctrl-C stops)
#   make test   the test suite
#   make postgres-test   the read-model tests again on a throwaway PostgreSQL (installed from
#                        the distribution if missing; scripts/ci-postgres.sh)
#   make rehearse        the product as deployed, on this machine: PostgreSQL, an identity
#                        provider, two workers, two front doors, the codec server
#                        (scripts/rehearse-production.sh)
# Each creates .venv and installs the project on first use, and reinstalls when pyproject.toml
# changes. Extra options for `cpplan dev` go in ARGS, e.g. `make run ARGS=--no-demo`.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: run test lint postgres-test rehearse install lock clean

run: $(STAMP)
	$(BIN)/cpplan dev $(ARGS)

test: $(STAMP)
	$(BIN)/pytest -q $(ARGS)

# ruff (lint and format) and mypy, configured in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

postgres-test: $(STAMP)
	PYTHON_BIN=$(BIN)/python scripts/ci-postgres.sh $(ARGS)

rehearse: $(STAMP)
	PYTHON_BIN=$(BIN)/python scripts/rehearse-production.sh

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# constraints.txt pins every package to the versions CI last tested (`make lock` writes it anew).
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_QUIET) -c constraints.txt -e '.[dev,report,test]'
	@# Bytecode made once here: with PYTHONDONTWRITEBYTECODE set, the workflow sandbox would
	@# otherwise compile plan.py and its modules from source for every plan it starts or replays.
	$(BIN)/python -m compileall -q workflows activities worker starters bench
	@touch $(STAMP)

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable --disable-pip-version-check | LC_ALL=C sort > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
