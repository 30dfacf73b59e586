# Revline: one Makefile for the whole workspace. Everything it needs it installs
# itself into the repo (.tools/ for uv, .venv/ for the workspace).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BIN ?= python3.11
UV_VERSION := 0.13.8
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON_BIN)
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv

UV := .tools/bin/uv
PY := .venv/bin/python
STAMP := .venv/.revline-installed
MEMBERS := $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
SERVICE_NAMES := $(notdir $(patsubst %/pyproject.toml,%,$(wildcard services/*/pyproject.toml)))
PYTEST_ARGS ?=
# Test workers (pytest-xdist) for `make test`: each worker has its own Tansu broker,
# PostgreSQL cluster and tmp dirs; a file's tests stay on one worker, so a service
# shared by a module starts once. TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 4
PYTEST_PARALLEL := $(if $(filter 0,$(TEST_WORKERS)),-p no:xdist,-n $(TEST_WORKERS) --dist loadfile)

.PHONY: help install lock run demo test test-fast lint fmt bench migrate schemas browser clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON_BIN) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

# Install exactly what requirements.lock pins (hashes checked), then put the
# workspace members on the path the way an editable install would. Bytecode is
# compiled at install: this machine sets PYTHONDONTWRITEBYTECODE, so otherwise every
# process (each test worker, each service the tests start as a process) compiled
# SQLAlchemy, alembic, FastAPI... from source again, about 2 s of CPU each.
$(STAMP): $(UV) requirements.lock $(MEMBERS)
	[ -x $(PY) ] || $(UV) venv --quiet .venv
	$(UV) pip sync --quiet --require-hashes --compile-bytecode --python $(PY) requirements.lock
	$(PY) scripts/link_workspace.py
	touch $(STAMP)

install: $(STAMP) ## install uv (if missing) and every pinned dependency

# Each service's image installs services/<name>/requirements.lock: its runtime closure
# only (no dev group, no other service's deps), the same pins and hashes as requirements.lock.
lock: $(UV) ## re-resolve the workspace; export requirements.lock and each service's (uv.lock stays local)
	$(UV) lock
	$(UV) export --quiet --format requirements-txt --all-groups --no-emit-workspace --frozen -o requirements.lock
	set -e; for service in $(SERVICE_NAMES); do \
	    $(UV) export --quiet --format requirements-txt --package revline-$$service --no-dev \
	        --no-emit-workspace --frozen -o services/$$service/requirements.lock; \
	done

run: install ## start the dev broker and every service on SQLite under var/ (REVLINE_DATABASE=postgresql: on PostgreSQL)
	$(PY) -m revline_testkit.devstack

demo: install ## walk a quote to a paid invoice, a trial balance and an aging report on the running stack
	$(PY) -m revline_testkit.demo

test: install lint ## lint, then every test (SQLite, throwaway PostgreSQL, real Tansu broker)
	$(PY) -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

test-fast: install ## every test, without lint
	$(PY) -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

lint: install ## ruff (check + format) and mypy strict
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

fmt: install ## apply ruff's fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: install ## benchmarks, written to bench/results.json
	$(PY) -m bench

migrate: install ## apply every service's migrations to its configured database
	$(PY) -m revline_testkit.migrate_all

schemas: install ## regenerate the published JSON Schemas of the events (refuses breaking changes)
	$(PY) -m revline_events.schemas --write

browser: install ## install Debian's chromium (headless, for the /docs and /dashboard tests) when it is missing
	$(PY) -m revline_testkit.browser

clean: ## remove the environment, caches and dev data
	rm -rf .venv .tools var .pytest_cache .mypy_cache .ruff_cache .hypothesis
