# Operator and developer entry points. Everything installs what it needs itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STATE := .rehearsal
REHEARSAL_DB ?= bayview_rehearsal
REHEARSAL_ROWS ?= 3000
export AWS_EC2_METADATA_DISABLED := true
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
PG_BIN ?= /usr/lib/postgresql/15/bin

.PHONY: help pg-binaries browser venv rehearsal rehearsal-db rehearsal-stop test lint unit molecule e2e faults sanity bench docs clean

help:
	@echo "make rehearsal       full rehearsal on a disposable local PostgreSQL"
	@echo "make rehearsal-stop  stop and remove the rehearsal PostgreSQL"
	@echo "make test            lint + unit + integration + Molecule (a sample of the long matrices)"
	@echo "make molecule        every Molecule scenario"
	@echo "make e2e             every Molecule scenario and the phases under the application's load (CI)"
	@echo "make faults          the whole fault-injection matrix (hours; FAULTS_ARGS narrows it)"
	@echo "make docs            write docs/mapping.md's column-by-column part from the data migrations"

# The PostgreSQL 15 server binaries (initdb, pg_ctl) and client tools; installed when missing.
pg-binaries:
	@if [ ! -x $(PG_BIN)/initdb ] || ! command -v pg_dump >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-client-15; \
	  else echo "PostgreSQL 15 server binaries are missing: ask an administrator to run 'apt-get install postgresql-15'"; exit 1; fi; \
	fi

# Debian's Chromium and ChromeDriver: the run report is checked in a real headless browser.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	  else echo "Chromium is missing: ask an administrator to run 'apt-get install chromium chromium-driver'"; exit 1; fi; \
	fi

$(BIN)/ansible-playbook: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $@

venv: pg-binaries $(BIN)/ansible-playbook

# Start (or reuse) the local cluster and load a fresh sample legacy database.
rehearsal-db: venv
	$(BIN)/bayview-localpg start --state $(STATE) --port $${BAYVIEW_REHEARSAL_PORT:-55432}
	$(BIN)/bayview-legacy-sample --state $(STATE) --dbname $(REHEARSAL_DB) --rows $(REHEARSAL_ROWS) --recreate
	rm -rf $(STATE)/restore_points/$(REHEARSAL_DB)

rehearsal: rehearsal-db
	$(BIN)/python -m bayview_runbook.rehearsal --state $(STATE) --dbname $(REHEARSAL_DB)

rehearsal-stop: venv
	$(BIN)/bayview-localpg stop --state $(STATE)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint --offline -q playbooks roles molecule inventories

unit: venv browser
	$(BIN)/pytest -m "not molecule and not e2e"

# Every Molecule scenario (make test runs the default one and a sample of the phase scenarios).
molecule: venv
	BAYVIEW_FULL_MATRIX=1 $(BIN)/pytest -m molecule

test: venv browser
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest -m "not e2e"

# The slow end-to-end cases make test leaves out or samples: every Molecule scenario and the phases
# under the application's load. CI runs them after make test (E2E_ARGS: more pytest arguments).
e2e: venv browser
	BAYVIEW_FULL_MATRIX=1 $(BIN)/pytest -m "molecule or e2e" $(E2E_ARGS)

# The whole fault-injection matrix (hours: nightly-style): one line per injection point and
# "survived N of N". FAULTS_ARGS narrows it, e.g. FAULTS_ARGS="--scenario phase3 --kind sigkill".
faults: venv
	$(BIN)/python tests/fault_matrix.py $(FAULTS_ARGS)

# Ansible's own module checks on the modules laid out as a collection (make test runs it too).
sanity: venv
	$(BIN)/python tests/ansible_sanity.py

bench: venv
	$(BIN)/python -m bench

docs: venv
	$(BIN)/python -m bayview_runbook.mapping_doc docs/mapping.md

clean: rehearsal-stop
	rm -rf $(VENV) $(STATE)
