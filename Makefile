# terraplan: two commands for a newcomer.
#   make demo   balanced territories for the bundled Georgia data, on DuckDB
#   make test   the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,geo]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/terraplan run workflows/examples/demo.yaml --database out/terraplan.duckdb --out out/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks.run

lint: $(STAMP)
	$(BIN)/ruff check components udfs workflows tests

clean:
	rm -rf out .pytest_cache build dist
