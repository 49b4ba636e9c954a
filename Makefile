# gapwatch: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ROOT := $(CURDIR)

# The embedded default: everything lives in ignored folders inside the repo.
export AIRFLOW_HOME ?= $(ROOT)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(ROOT)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(ROOT)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__LOGGING__LOGGING_LEVEL ?= WARNING
export GAPWATCH_HOME ?= $(ROOT)/.gapwatch
export GAPWATCH_DEMO_SOURCE_URL ?= sqlite:///$(GAPWATCH_HOME)/demo_production.db
export GX_ANALYTICS_ENABLED := false

.PHONY: demo test lint bench clean venv airflow-db

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(AIRFLOW_HOME)/.migrated: $(VENV)/.installed
	mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || (tail -30 $(AIRFLOW_HOME)/db-migrate.log; exit 1)
	touch $@

airflow-db: $(AIRFLOW_HOME)/.migrated

demo: venv airflow-db
	$(BIN)/gapwatch validate
	mkdir -p $(GAPWATCH_HOME)
	$(BIN)/gapwatch demo seed > $(GAPWATCH_HOME)/seed.json
	@echo "seeded the demo production database: $(GAPWATCH_DEMO_SOURCE_URL)"
	$(BIN)/gapwatch demo run
	$(BIN)/gapwatch demo summary

test: venv
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf .airflow .gapwatch
