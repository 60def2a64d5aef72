# The two commands of README.md: `make demo` and `make test`. Each does its own set-up, idempotently.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tripod-installed
APT_PACKAGES := prometheus prometheus-alertmanager victoria-metrics redis-server nodejs chromium
# The web UI (ui/, TypeScript): `npm ci` when the lock file is newer than node_modules, the esbuild
# build when a source is newer than its output (src/tripod/server/ui/static, gitignored).
UI_DEPS := ui/node_modules/.tripod-npm-ci
UI_BUILT := src/tripod/server/ui/static/.tripod-built
UI_SOURCES := $(shell find ui/src -type f 2>/dev/null) ui/build.mjs ui/tsconfig.json ui/package.json
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint typecheck pytest bench setup apt clean ui

setup: $(STAMP) apt ui

$(STAMP): pyproject.toml hatch_build.py src/tripod/server/ingest/_spans_c.c
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# Debian packages the tests use (real Prometheus and promtool). `apt-get update` runs once, first.
apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# npm comes with NodeSource's nodejs package; Debian's own packages it separately (`npm`).
$(UI_DEPS): ui/package-lock.json | apt
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ with npm (Debian: apt-get install npm)"; exit 1; }
	cd ui && npm ci --no-audit --no-fund
	@touch $@

$(UI_BUILT): $(UI_DEPS) $(UI_SOURCES)
	cd ui && npm run --silent build
	@touch $@

ui: $(UI_BUILT)

demo: setup
	$(PY) examples/demo.py

lint: $(STAMP) $(UI_DEPS)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples
	$(VENV)/bin/mypy
	cd ui && npm run --silent typecheck

# Serial: 635 s of pytest on an idle machine (README, "Test suite time"). `-n 2 --dist loadfile
# --no-loadscope-reorder` works (tests/conftest.py orders the files) but doubles the load on
# timing-sensitive end-to-end tests for little gain on two cores.
pytest: setup
	$(PY) -m pytest -q -p no:cacheprovider --durations=25

test: setup lint pytest

# Every figure in docs/benchmarks.md; each script prints its own (minutes, not seconds).
bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache ui/node_modules src/tripod/server/ui/static
