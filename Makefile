# Two commands set everything up on a fresh machine:
#   make demo   virtualenv + install + sample data + the end-to-end scenario
#   make test   virtualenv + install + PostgreSQL (Debian package, when absent) + lint + types + tests
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format typecheck pytest venv postgres bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

venv: $(STAMP)

postgres:
	@scripts/ensure-postgres.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) postgres
	$(BIN)/pytest

test: lint typecheck pytest

demo: $(STAMP)
	$(BIN)/python -m etds_examples.demo

bench: $(STAMP)
	$(BIN)/python bench/bench_generators.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
