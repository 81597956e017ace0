# Quick start: `make demo` and `make test`. Both create .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test venv bench clean reference

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/netlab run topologies/seed.yaml -o results/seed
	@echo
	$(BIN)/netlab run topologies/demo.yaml -o results/demo --plot

test: $(STAMP)
	$(BIN)/python -m pytest

reference: $(STAMP)
	$(BIN)/python -m netlab.experiment.reference > docs/scenario-reference.md

bench: $(STAMP)
	$(BIN)/python bench/compare.py

clean:
	rm -rf $(VENV) results .pytest_cache
