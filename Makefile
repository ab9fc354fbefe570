# The README's set-up: `make serve` runs the service, `make test` runs the tests.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SHARED ?= ../shared/data
# where `make serve` listens, from the environment or the command line: `PORT=8080 make serve`
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install serve test test-fast benchmarks clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: install
	$(BIN)/codesuggest serve --host "$(HOST)" --port "$(PORT)"

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser"

clean:
	rm -rf $(VENV) var
