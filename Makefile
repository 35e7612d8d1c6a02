# HT Content API. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml sdk/pyproject.toml | sha1sum | cut -c1-12)
BENCH_STAMP := $(VENV)/.bench-$(shell sha1sum pyproject.toml | cut -c1-12)
PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export FLASK_APP := api

.DEFAULT_GOAL := help
.PHONY: help install run seed openapi sdk-types spectral lint test test-postgres test-accel-off test-browser cluster cluster-stop bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml sdk/pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' -e ./sdk
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP) ## Create .venv and install the app and its test tools

run: install ## Migrate, seed and serve on http://127.0.0.1:8000 (SQLite under instance/)
	$(BIN)/flask db upgrade
	$(BIN)/flask seed --quiet
	HTCONTENT_WEBHOOKS_INLINE=$${HTCONTENT_WEBHOOKS_INLINE:-1} $(BIN)/gunicorn -c gunicorn.conf.py

seed: install ## Load the seed files (idempotent)
	$(BIN)/flask seed

openapi: install ## Regenerate openapi.yaml from the code
	$(BIN)/flask openapi

sdk-types: install ## Regenerate the SDK's record classes and filter table from schemas/
	$(BIN)/python -m schemas.sdk_types

# Spectral (npm @stoplight/spectral-cli) lints the contract with its OpenAPI ruleset; any warning
# fails. Installed once into .tools/ (npm needs Node.js; no browser or binary download).
SPECTRAL := .tools/node_modules/.bin/spectral
# axe-core (npm) checks the widget's accessibility in the browser tests. Both in one install:
# npm prunes what a later --no-save install does not name.
AXE := .tools/node_modules/axe-core/axe.min.js
$(SPECTRAL) $(AXE) &:
	mkdir -p .tools
	cd .tools && npm install --silent --no-audit --no-fund --no-save @stoplight/spectral-cli@6 \
		axe-core@4

tools: $(SPECTRAL) $(AXE) ## Install the npm tools (Spectral, axe-core) into .tools/

spectral: $(SPECTRAL) ## Lint openapi.yaml with Spectral (spectral:oas): no errors, no warnings
	$(SPECTRAL) lint openapi.yaml --ruleset .spectral.yaml --fail-severity=warn

lint: install ## ruff, mypy (strict) on the SDK, openapi.yaml and the SDK's types in step, the seed's content rules
	$(BIN)/ruff check .
	$(BIN)/mypy --strict sdk/htcontent
	$(BIN)/flask openapi --check
	$(BIN)/python -m schemas.sdk_types --check
	$(BIN)/flask --app api content check --seed seed

test: lint ## Every test, on SQLite (the browser test needs Debian's chromium)
	$(BIN)/pytest

# On PostgreSQL the contract fuzzing runs at half the examples (still over 1,000 requests per
# run, which the test checks): it is CI's longest step, and `make test` runs it in full.
test-postgres: install ## Every test except the browser one, on PostgreSQL ($(PG_URL))
	DATABASE_URL=$(PG_URL) HTCONTENT_FUZZ_SCALE=$${HTCONTENT_FUZZ_SCALE:-0.5} \
		$(BIN)/pytest -m "not browser and not cluster"

# The tests of what users see (reads, writes, sync, the SDK) with every cache and the fast path
# off: the system must be right without them (tests of the caches themselves are left out).
ACCEL_OFF_TESTS := tests/web/test_reads.py tests/web/test_writes.py tests/web/test_sync.py \
	tests/web/test_trust.py tests/web/test_errors.py tests/storage tests/test_seed.py \
	tests/accel/test_accel.py sdk/tests
test-accel-off: install ## Reads, writes, sync and the SDK with HTCONTENT_ACCEL=off (on SQLite)
	HTCONTENT_ACCEL=off $(BIN)/pytest $(ACCEL_OFF_TESTS)

test-browser: install $(AXE) ## Only the headless-Chromium tests (docs, widget)
	$(BIN)/pytest -m browser

cluster: install ## Two API instances (PostgreSQL, Redis) behind a caching nginx on 127.0.0.1:8100
	deploy/cluster.sh start

cluster-stop: ## Stop exactly what `make cluster` started
	deploy/cluster.sh stop

$(BENCH_STAMP): pyproject.toml
	$(BIN)/pip install --quiet -e '.[bench]'
	@rm -f $(VENV)/.bench-* && touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP) ## Benchmarks vs baselines, by hand, not in CI (BENCH_ARGS=--quick)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean: ## Remove .venv, instance/ and caches
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
