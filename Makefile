# Two commands on a fresh machine: `make run` and `make test` (both install what they need).
.PHONY: setup run test test-quick lint bench soak mutate screenshots clean

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
	$(VENV)/bin/lint-imports

bench: setup
	$(PY) -m bench

## 10,000 runs in serve mode (~18 min on 2 cores): leaks, lost results, drift; not part of `make bench`.
## `make soak SOAK_ARGS=--keep` keeps the runner's log and samples.
soak: setup
	$(PY) -m bench --only long-soak $(SOAK_ARGS)

## Mutation testing of the core against its fast unit tests (docs/mutation.md); not part of `make test`.
mutate: setup
	rm -rf mutants
	nice -n 10 $(VENV)/bin/mutmut run --max-children 2
	$(VENV)/bin/mutmut results --all true > mutants/results.txt; tail -n 40 mutants/results.txt

## The README's pictures of the runner's pages (docs/screenshots/), from a sandbox with a fault on.
screenshots: setup
	$(PY) scripts/screenshots.py

clean:
	rm -rf artifacts mutants .pytest_cache .mypy_cache .ruff_cache
