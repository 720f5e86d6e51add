# Two entry points on a fresh clone: `make run` (the default experiment + report) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean-venv

$(BIN)/w2sg: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0        # the CPU wheel; plain `torch` pulls a multi-GB CUDA build
	$(BIN)/pip install -q -e ".[test]"
	touch $(BIN)/w2sg

run: $(BIN)/w2sg
	$(BIN)/w2sg models pull minilm mpnet
	$(BIN)/w2sg run

test: $(BIN)/w2sg
	$(BIN)/w2sg models pull minilm
	$(BIN)/ruff check src tests benchmarks studies
	$(BIN)/python -m pytest -q

bench: $(BIN)/w2sg
	$(BIN)/w2sg models pull minilm
	$(BIN)/python benchmarks/throughput.py

clean-venv:
	rm -rf $(VENV)
