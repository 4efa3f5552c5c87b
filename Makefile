# Two commands do all set-up on a fresh Debian machine:
#   make run   — install and start chattrack on the embedded SQLite store
#   make test  — install what the tests need (Chromium included) and run lint, types and the whole suite
VENV ?= .venv
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench chromium

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(VENV)/bin/chattrack serve

# Debian's Chromium, driven by Playwright through executable_path (no browser download).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: $(VENV)/.installed-test chromium lint
	$(VENV)/bin/pytest -q

bench: $(VENV)/.installed-test chromium
	for b in bench/bench_*.py; do $(VENV)/bin/python $$b || exit 1; done
