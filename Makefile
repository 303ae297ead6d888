# The two set-up commands of the README: `make run` and `make test`. Each creates `.venv` when it
# is missing (or when pyproject.toml changed) and needs only Python >= 3.11 and make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?= -n 2

.PHONY: run test lint format bench cluster clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

## Start the hub on http://127.0.0.1:5000 with the demo data set (Ctrl-C stops everything).
run: $(VENV)/.installed
	$(BIN)/hub run --demo

## The demo in the production topology: HAProxy on http://127.0.0.1:5000, two hub instances
## (:5010, :5011) on PostgreSQL (database hub_cluster, or HUB_DATABASE_URL), both portals.
cluster: $(VENV)/.installed
	@command -v haproxy >/dev/null || test -x /usr/sbin/haproxy || { \
		echo "HAProxy manque : sudo apt-get install haproxy"; exit 1; }
	$(BIN)/hub cluster

## Run the whole suite: lint, layering, SQLite and (when it answers) PostgreSQL.
test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Speed and memory targets (tests/bench), with the real argon2 parameters; the OIDC benchmark
## runs node oidc-provider beside the hub (npm-installed once into .bench/reference-op).
bench: $(VENV)/.installed-test
	$(BIN)/pytest -o addopts="-ra --strict-markers" -p no:xdist -s tests/bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .bench
