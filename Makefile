# academy — two commands for a fresh machine:
#   make run    set everything up and serve the demo on http://127.0.0.1:5000
#   make test   set everything up and run the whole suite (SQLite, PostgreSQL, browser)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app academy
PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export PLAYWRIGHT_BROWSERS_PATH := 0
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run test test-sqlite test-postgres test-e2e lint serve worker install translations bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed translations

translations: $(VENV)/.installed
	@$(BIN)/pybabel compile -q -d academy/translations 2>/dev/null || true

run: install
	@scripts/sysdeps.sh run
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	@$(FLASK) demo --accounts
	$(FLASK) run --host 127.0.0.1 --port 5000

serve: install
	$(FLASK) db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py 'academy:create_app()'

test: install
	@scripts/sysdeps.sh test
	@scripts/postgres.sh
	$(BIN)/ruff check academy tests
	$(BIN)/python -m pytest -q -m "not e2e"
	TEST_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -q
	@echo "All suites passed (SQLite, PostgreSQL with browser tests)."

test-sqlite: install
	$(BIN)/python -m pytest -q

test-postgres: install
	@scripts/postgres.sh
	TEST_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -q

test-e2e: install
	$(BIN)/python -m pytest -q -m e2e

lint: install
	$(BIN)/ruff check academy tests

clean:
	rm -rf $(VENV) instance *.egg-info
