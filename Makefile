# cpplan: the two everyday commands.
#   make run    the embedded Temporal dev server + UI, the worker and a demo plan (Ctrl-C stops)
#   make test   the test suite
# Both create .venv and install the project on first use, and reinstall when pyproject.toml
# changes. Extra options for `cpplan dev` go in ARGS, e.g. `make run ARGS=--no-demo`.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: run test install clean

run: $(STAMP)
	$(BIN)/cpplan dev $(ARGS)

test: $(STAMP)
	$(BIN)/pytest -q $(ARGS)

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_QUIET) -e '.[test]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
