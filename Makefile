# Two commands on a fresh machine: `make run` and `make test` (both install what they need).
.PHONY: setup run test test-quick lint bench clean

VENV := .venv
PY := $(VENV)/bin/python

setup:
	@scripts/setup.sh

## The scheduled runner against the built-in sandbox on loopback (Ctrl-C stops both).
run: setup
	@scripts/run-local.sh

## Every test: lint, types, unit, integration, browser, end-to-end alerting (under 30 min on 2 cores).
test: setup lint
	$(PY) -m pytest -q -p no:cacheprovider

## The quick subset while you work: no slow tests.
test-quick: setup lint
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow"

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

bench: setup
	$(PY) -m bench

clean:
	rm -rf artifacts .pytest_cache .mypy_cache .ruff_cache
