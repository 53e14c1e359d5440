# Kassa — local workflow. `make run` and `make test` set up .venv by themselves (python3, pip, make only).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tools that are not the tests' business (aws-sam-cli, checkov) each get their own venv under .tools/,
# made with Python 3.12 (found on PATH or through pyenv) from devtools/tools/<tool>.txt, their whole
# closure pinned (devtools/tools/lock.sh regenerates one): --no-deps installs exactly that list and
# pip check fails when it is not a complete closure.
TOOLS := .tools
DEVTOOLS_PYTHON := PYTHONPATH=devtools $(PYTHON)
BUILD_TEMPLATE ?= template.yaml
BUILD_DIR ?= .aws-sam/build
# Compact: failed checks only, and the counts. --skip-download and no update check: nothing leaves the
# machine. A template checkov cannot parse fails (by default a parse error exits 0, having checked nothing).
CHECKOV_TEMPLATE ?= template.yaml
CHECKOV := CKV_PARSE_ERROR_FAIL=true CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(TOOLS)/checkov/bin/checkov \
	-f $(CHECKOV_TEMPLATE) --framework cloudformation --compact --quiet --skip-download

.PHONY: run test lint lint-checkov lint-template build openapi layer-requirements dataclass-code stress bench clean

$(TOOLS)/%/.installed: devtools/tools/%.txt
	rm -rf $(TOOLS)/$*
	python312=$$($(DEVTOOLS_PYTHON) -m kassa_dev.python312) && "$$python312" -m venv $(TOOLS)/$*
	$(TOOLS)/$*/bin/pip install --quiet --no-deps --only-binary=:all: -r $<
	$(TOOLS)/$*/bin/pip check
	touch $@

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kassa serve

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP) $(TOOLS)/checkov/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(CHECKOV)

lint-checkov: $(TOOLS)/checkov/.installed
	$(CHECKOV)

lint-template: $(STAMP)
	$(BIN)/python -m kassa_dev.template_check template.yaml
	$(BIN)/python -m kassa_dev.metric_contract template.yaml

# sam build for Lambda's arm64 without a container, then the ELF check on its output (kassa_dev.sam_build).
build: $(TOOLS)/sam/.installed
	$(DEVTOOLS_PYTHON) -m kassa_dev.sam_build --template $(BUILD_TEMPLATE) --build-dir $(BUILD_DIR)

openapi: $(STAMP)
	$(BIN)/python -m kassa_dev.openapi > docs/openapi.json

layer-requirements: $(STAMP)
	$(BIN)/python -m kassa_dev.layer_requirements > layers/core/requirements.txt

# The dataclass methods every function's init compiles, compiled once by the layer's build (decisions 41).
dataclass-code: $(STAMP)
	$(BIN)/python -m kassa_dev.dataclass_code

bench: $(STAMP)
	$(BIN)/python -m kassa_dev.bench
	$(BIN)/python -m kassa_dev.bench.contention

stress: $(STAMP)
	$(BIN)/python -m kassa_dev.bank --clients 16 --operations 20000 --wallets 8
	KASSA_CONTENTION_MOVES=50 $(BIN)/pytest -q tests/integration/test_contention.py
	KASSA_ORDINARY_OPERATIONS=4000 $(BIN)/pytest -q -s tests/reconciliation/test_anomalies.py -k ordinary_mix

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
