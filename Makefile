# Two entry points (README Quickstart): `make demo` runs the main job, `make test` the whole suite.
# Each creates its own virtual environment in .venv, so a machine needs only python3 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
PYTEST_ARGS ?=

.PHONY: demo test report explain surface compare bench browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test]'
	@touch $@

## demo: install outlayer and write the report for the embedded default dataset
demo: $(VENV)/.installed
	$(BIN)/outlayer report

report explain surface compare: $(VENV)/.installed
	$(BIN)/outlayer $@

bench: $(VENV)/.installed-test
	$(BIN)/outlayer bench --out bench-results

## browser: Debian's Chromium for the browser tests (needs root; skipped tests say so otherwise)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium: browser tests will be skipped"; \
	  else echo "chromium not found and not root: browser tests will be skipped"; fi; }

## test: install the test dependencies, run the static checks (ruff, mypy; configured in
## pyproject.toml), then every test
test: $(VENV)/.installed-test browser
	$(BIN)/python -m ruff check src tests benchmarks
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) outlayer-report test-artifacts bench-results .pytest_cache
