# Sarathi — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, or the copy `make setup` installs with pip.
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
MEMBERS := common:libs/common feed:services/feed signals:services/signals execution:services/execution \
           orders:services/orders risk:services/risk sim:services/sim cli:apps/cli

.PHONY: help setup run test lint format typecheck deps-check check bench chaos dashboards clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: ## Install uv if missing and sync the workspace (Python 3.11)
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --python 3.11 --quiet

run: setup ## Set up, start NATS + PostgreSQL + every service locally, report, shut down
	@$(UV) run sarathi run

test: setup ## Set up and run the whole test suite (unit, integration with real NATS and PostgreSQL)
	@$(UV) run pytest

lint: setup ## ruff: lint and format check
	@$(UV) run ruff check .
	@$(UV) run ruff format --check .

format: setup ## ruff: fix what can be fixed and format
	@$(UV) run ruff check --fix .
	@$(UV) run ruff format .

typecheck: setup ## mypy, strict
	@$(UV) run mypy libs/common/src services/*/src apps/cli/src scripts

deps-check: setup ## Each member alone, with only its declared dependencies, imports every module it has
	@for m in $(MEMBERS); do \
	  name=$${m%%:*}; dir=$${m#*:}; env=.venv-deps/$$name; \
	  UV_PROJECT_ENVIRONMENT=$$env $(UV) sync --quiet --package sarathi-$$name --no-default-groups --all-extras || exit 1; \
	  $$env/bin/python scripts/import_all.py sarathi.$$name || exit 1; \
	done

check: lint typecheck deps-check test ## Everything CI runs

bench: setup ## Benchmarks against a reference measured in the same run; figures in .bench/results.json
	@$(UV) run python scripts/bench.py

# Fault trials: make chaos TRIALS=50 SEED=7 COMPONENTS=orders,risk SPEED=100
TRIALS ?= 10
SEED ?= 1
COMPONENTS ?= all
SPEED ?= 100
chaos: setup ## SIGKILL components of `sarathi up` at random (TRIALS, SEED, COMPONENTS, SPEED); books vs broker's
	@$(UV) run python -m sarathi.cli.chaos --trials $(TRIALS) --seed $(SEED) --components $(COMPONENTS) --speed $(SPEED)

dashboards: setup ## Regenerate deploy/grafana/dashboards/*.json from deploy/grafana/generate.py
	@$(UV) run python deploy/grafana/generate.py

clean: ## Remove virtualenvs, caches and local run data
	rm -rf .venv .venv-deps .pytest_cache .mypy_cache .ruff_cache .run .bench
