# threatmap: `make run` serves the app, `make test` runs the test suite.
# Both set up everything first: a Python 3.12+ virtualenv and PostGIS.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# A 3.12+ interpreter: $PYTHON if given, else python3.13/python3.12 on PATH, else pyenv's.
PYTHON ?= $(shell for c in python3.13 python3.12 python3; do \
	  p=$$(command -v $$c 2>/dev/null) && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; exit 0; }; \
	done; \
	for v in $$(ls -d $$HOME/.pyenv/versions/3.1[2-9]* 2>/dev/null | sort -rV); do \
	  [ -x $$v/bin/python3 ] && { echo $$v/bin/python3; exit 0; }; \
	done)

.PHONY: run test lint bench postgis venv clean
run: venv postgis
	$(VENV)/bin/threatmap serve --demo-on-first-start 3000

test: venv postgis
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

bench: venv postgis
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing wrk (the load generator the benchmarks use)..."; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null || \
	      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }; \
	  else echo "The benchmarks need wrk: install it (e.g. 'sudo apt-get install wrk')."; exit 1; fi; }
	$(PY) -m bench $(BENCH_ARGS)

venv: $(STAMP)
$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "threatmap needs Python 3.12 or newer and none was found."; \
	  echo "Install one (e.g. 'apt-get install python3.12' or 'pyenv install 3.12') or run 'make PYTHON=/path/to/python3.12'."; \
	  exit 1; fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

postgis:
	@scripts/ensure-postgis.sh

clean:
	rm -rf $(VENV) .threatmap
