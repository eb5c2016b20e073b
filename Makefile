# The two commands a user needs (see README):
#   make run    set up everything, load demo data, serve on http://127.0.0.1:8000
#   make test   set up everything, run lint and the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1:8000

.PHONY: run test setup system-deps lint bench bench-load messages

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@# The background worker (big imports, PDFs and ledgers) runs beside the
	@# server and stops with it.
	DEBUG=1 $(PY) manage.py worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=1 $(PY) manage.py runserver $(HOST)

test: setup lint
	$(PY) -m pytest

setup: system-deps $(VENV)/.installed
	$(PY) manage.py compilemessages --ignore=.venv -v 0

system-deps:
	./scripts/system-deps.sh

# The virtual environment is rebuilt when a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-rq.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The benchmark harness (see bench/README.md); not part of the test suite.
bench: setup
	$(PY) bench/household_list.py
	$(PY) bench/bulk_approve.py
	$(PY) bench/import_roster.py
	$(PY) bench/ledger_export.py
	$(PY) bench/notice_pdf.py
	$(PY) bench/dashboard.py

# The load test (bench/load.py): 200 clerks for 5 minutes against gunicorn and
# PostgreSQL, 1,000,000 households on file (built once, kept). Not in `make bench`:
# it takes about 20 minutes the first time and 8 minutes after.
bench-load: setup
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-bench.txt
	$(PY) bench/load.py

# Refresh the translation catalogue after changing user-facing strings.
messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l zh_Hans --no-location --no-obsolete --ignore=.venv --ignore=bench
