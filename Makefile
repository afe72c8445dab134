# academy — two commands for a fresh machine:
#   make run    set everything up and serve the demo on http://127.0.0.1:5000 (PORT=5001 to change)
#   make test   set everything up and run the whole suite (ruff; pytest on SQLite; pytest on
#               PostgreSQL with the browser tests and the production test: gunicorn + Redis/RQ).
#               Fails if any test is skipped.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app academy
HOST ?= 127.0.0.1
PORT ?= 5000
PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
ARTIFACTS := test-artifacts
PYTEST := $(BIN)/python -m pytest -q
export PLAYWRIGHT_BROWSERS_PATH := 0
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run test test-sqlite test-postgres test-e2e lint audit serve install translations translations-update sysdeps-run sysdeps-test redis clean bench

# --- set-up -----------------------------------------------------------------------------------
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed translations

# Compile the message catalogues (English) when the project has any.
translations: $(VENV)/.installed
	@if [ -d academy/translations ]; then $(BIN)/pybabel -q compile -d academy/translations; fi

# Re-extract every _()/_l() string and merge it into the catalogues: new entries stay empty in en
# (tests/test_i18n.py lists them until translated); zh_CN stays an identity catalogue.
translations-update: $(VENV)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --add-location=file --sort-output --no-wrap \
		--ignore-dirs='.* node_modules .venv' \
		--project=academy --copyright-holder="金小哥学院" -o academy/translations/messages.pot .
	$(BIN)/pybabel -q update -i academy/translations/messages.pot -d academy/translations --no-wrap \
		--ignore-obsolete --no-fuzzy-matching
	$(BIN)/python -m academy.i18n identity academy/translations/zh_CN/LC_MESSAGES/messages.po
	$(BIN)/pybabel -q compile -d academy/translations

sysdeps-run:
	@scripts/sysdeps.sh run

sysdeps-test:
	@scripts/sysdeps.sh test

# Redis for the production test (RQ worker, shared rate limits): start it when it is down.
redis:
	@if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then \
	  echo "Starting Redis on 127.0.0.1:6379"; \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
	    --dir /tmp --logfile /tmp/academy-redis.log; \
	  for i in $$(seq 1 20); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.25; done; \
	fi

# --- serve ------------------------------------------------------------------------------------
run: sysdeps-run install
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	@$(FLASK) demo --accounts
	@echo "academy: http://$(HOST):$(PORT)/  (Ctrl+C stops it; another port: make run PORT=5001)"
	$(FLASK) run --host $(HOST) --port $(PORT)

# Production-style server (gunicorn.conf.py; ACADEMY_BIND, default 127.0.0.1:8000).
serve: sysdeps-run install
	$(FLASK) db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py 'academy:create_app()'

# --- tests ------------------------------------------------------------------------------------
# Reads pytest's JUnit files: prints "<label>: N passed, N failed" and fails when a test was skipped
# or none ran (nothing may be skipped silently, in CI or anywhere).
define JUNIT_SUMMARY
import sys, xml.etree.ElementTree as ET
label, files = sys.argv[1], sys.argv[2:]
total = failed = skipped = 0
for name in files:
    for suite in ET.parse(name).getroot().iter("testsuite"):
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
print(f"{label}: {total - failed - skipped} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
if skipped:
    sys.exit(f"{skipped} test(s) skipped: nothing may be skipped (the reasons are listed above, after SKIPPED)")
if total == 0:
    sys.exit("no test ran")
endef
export JUNIT_SUMMARY
junit_summary = $(BIN)/python -c "$$JUNIT_SUMMARY" $(1)

test: sysdeps-test install redis
	@scripts/postgres.sh
	$(BIN)/ruff check academy tests
	@$(MAKE) --no-print-directory audit
	@mkdir -p $(ARTIFACTS)
	$(PYTEST) -m "not e2e and not production" --junitxml=$(ARTIFACTS)/junit-sqlite.xml
	@$(call junit_summary,SQLite $(ARTIFACTS)/junit-sqlite.xml)
	TEST_DATABASE_URL=$(PG_URL) $(PYTEST) --junitxml=$(ARTIFACTS)/junit-postgres.xml
	@$(call junit_summary,PostgreSQL $(ARTIFACTS)/junit-postgres.xml)
	@echo "All suites passed (SQLite; PostgreSQL with the browser tests)."
	@$(call junit_summary,total $(ARTIFACTS)/junit-sqlite.xml $(ARTIFACTS)/junit-postgres.xml)

test-sqlite: install
	$(PYTEST) -m "not production"

test-postgres: install redis
	@scripts/postgres.sh
	TEST_DATABASE_URL=$(PG_URL) $(PYTEST)

test-e2e: sysdeps-test install
	$(PYTEST) -m e2e

lint: install
	$(BIN)/ruff check academy tests

# Dependency and code checks: known vulnerabilities in the installed packages (pip-audit asks PyPI's
# advisory data, so it needs the network to PyPI) and bandit's high-severity findings in academy/
# (each one fixed, or marked "# nosec BXXX - reason" where it is a false alarm).
audit: install
	$(BIN)/pip-audit --skip-editable --progress-spinner off
	$(BIN)/bandit -q -r academy --severity-level high

# --- benchmarks (not tests: they print figures and ratios; see benchmarks/README.md) ----------
# Generates the city (155,000 learners …) into a SQLite file and the PostgreSQL database bench_city
# (BENCH_REUSE=1 keeps databases generated earlier), then runs every benchmark once; about 20
# minutes on 2 cores. The output is also written to test-artifacts/bench.log.
BENCH_SQLITE ?= $(abspath benchmarks/data/city.db)
BENCH_PG ?= $(PG_URL:%/postgres=%)/bench_city
BENCH_LOG := $(ARTIFACTS)/bench.log
bench: sysdeps-test install redis
	@scripts/postgres.sh
	@mkdir -p $(ARTIFACTS) benchmarks/data
	@set -o pipefail; { \
	  if [ "$(BENCH_REUSE)" != 1 ] || [ ! -f benchmarks/data/city-sqlite.json ]; then \
	    $(BIN)/python benchmarks/generate.py --reset --database-url sqlite:///$(BENCH_SQLITE) --manifest benchmarks/data/city-sqlite.json; fi && \
	  if [ "$(BENCH_REUSE)" != 1 ] || [ ! -f benchmarks/data/city-postgres.json ]; then \
	    $(BIN)/python benchmarks/generate.py --reset --database-url $(BENCH_PG) --manifest benchmarks/data/city-postgres.json; fi && \
	  $(BIN)/python benchmarks/pages.py --manifest benchmarks/data/city-sqlite.json --manifest benchmarks/data/city-postgres.json && \
	  $(BIN)/python benchmarks/query_counts.py --scales 0.01 0.1 && \
	  $(BIN)/python benchmarks/checkin_burst.py --database-url $(BENCH_PG) && \
	  $(BIN)/python benchmarks/imports.py && \
	  $(BIN)/python benchmarks/imports.py --database-url $(PG_URL) && \
	  $(BIN)/python benchmarks/certificate_batch.py && \
	  $(BIN)/python benchmarks/page_weight.py && \
	  $(BIN)/python benchmarks/lighthouse.py --runs 3; \
	} 2>&1 | tee $(BENCH_LOG)

# Removes the virtual environment and build files; keeps instance/ (the database and secret key).
clean:
	rm -rf $(VENV) *.egg-info $(ARTIFACTS)
