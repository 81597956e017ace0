# Quick start: `make demo` and `make test`. Both create .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test fuzz check venv bench clean reference

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# The seed scenario's strategy comparison (the README's "Routing matters on the seed scenario"; 6 replications
# here, the README's table uses SEED_REPS=10): a table with CIs, then the plots in results/seed-compare/.
SEED_STRATEGIES := shortest_hops,least_loaded,least_loaded(mode=link_state, update_interval=1s)
SEED_REPS ?= 6

demo: $(STAMP)
	$(BIN)/netlab run topologies/seed.yaml -o results/seed
	@echo
	$(BIN)/netlab run topologies/demo.yaml -o results/demo --plot
	@echo
	$(BIN)/netlab compare topologies/seed.yaml --strategies "$(SEED_STRATEGIES)" --reps $(SEED_REPS) -o results/seed-compare --plot

test: $(STAMP)
	$(BIN)/python -m pytest

# The lint and type gate (CI runs it before the tests): ruff's rules and format, mypy --strict on netlab/.
# The property tests (hypothesis) with many more examples than `make test` draws, fresh ones each run.
fuzz: $(STAMP)
	NETLAB_FUZZ=1 $(BIN)/python -m pytest -m hypothesis -q

check: $(STAMP)
	$(BIN)/ruff check netlab tests bench notebooks/_build.py topologies/_make_scenarios.py
	$(BIN)/ruff format --check netlab tests bench notebooks/_build.py topologies/_make_scenarios.py
	$(BIN)/mypy

reference: $(STAMP)
	$(BIN)/python -m netlab.scenario.reference > docs/scenario-reference.md

bench: $(STAMP)
	$(BIN)/python bench/compare.py

clean:
	rm -rf $(VENV) results .pytest_cache
