# Kassa — local workflow. `make run` and `make test` set up .venv by themselves (python3, pip, make only).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint lint-template openapi layer-requirements stress bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kassa serve

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

lint-template: $(STAMP)
	$(BIN)/python -m kassa_dev.template_check template.yaml

openapi: $(STAMP)
	$(BIN)/python -m kassa_dev.openapi > docs/openapi.json

layer-requirements: $(STAMP)
	$(BIN)/python -m kassa_dev.layer_requirements > layers/core/requirements.txt

bench: $(STAMP)
	$(BIN)/python -m kassa_dev.bench

stress: $(STAMP)
	$(BIN)/python -m kassa_dev.bank --clients 16 --operations 20000 --wallets 8

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
