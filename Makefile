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

.PHONY: demo test test-unit lint bench clean venv airflow-db airflow test-ui chromium screenshots scenarios

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo "installing gapwatch and its dependencies into $(VENV) (pip, quiet: a few minutes the first time)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(AIRFLOW_HOME)/.migrated: $(VENV)/.installed
	@echo "migrating Airflow's metadata database in $(AIRFLOW_HOME) (about a minute; log: db-migrate.log)"
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

# Lint first (ruff, mypy): quick, and a type error explains a failing test better than the test.
test: lint chromium
	$(BIN)/pytest -q

# The unit tests alone: no database server, no Airflow run, under a minute.
test-unit: venv
	$(BIN)/pytest -q -m unit

# Only the Model Health browser test (a real api-server and headless Chromium).
test-ui: venv chromium
	$(BIN)/pytest -q -m ui

# Refresh the screenshots the README shows (the browser tests, Data Docs offline too, saving into docs/).
screenshots: venv chromium
	GAPWATCH_SCREENSHOT_DIR=$(ROOT)/docs $(BIN)/pytest -q -m ui -k "browser or offline"

# Debian's Chromium and its driver for the browser test; installed with apt when missing, never
# downloaded by a test tool.
chromium:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "installing Debian's chromium and chromium-driver (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# The embedded Airflow (api-server, scheduler, dag-processor, triggerer) with the demo's runs
# and the Model Health page; a known admin login kept in $(AIRFLOW_HOME). Task processes call the
# execution API on the same port as the UI (Airflow's default is :8080 whatever the UI port).
AIRFLOW_PORT ?= 8080
AIRFLOW_PASSWORDS := $(AIRFLOW_HOME)/simple_auth_manager_passwords.json
airflow: venv airflow-db
	@$(BIN)/python -c "import sqlalchemy as sa; from gapwatch import store; \
	  c = store.engine().connect(); raise SystemExit(0 if c.execute(sa.select(sa.func.count()).select_from(store.runs)).scalar() else 1)" \
	  || $(MAKE) demo
	@test -s $(AIRFLOW_PASSWORDS) || $(BIN)/python -c "import json, secrets; \
	  print(json.dumps({'admin': secrets.token_urlsafe(12)}))" > $(AIRFLOW_PASSWORDS)
	@test -s $(AIRFLOW_HOME)/jwt_secret || $(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $(AIRFLOW_HOME)/jwt_secret
	@echo ""
	@echo "  Airflow:      http://localhost:$(AIRFLOW_PORT)"
	@echo "  Model Health: http://localhost:$(AIRFLOW_PORT)/plugin/model-health   (JSON: /gapwatch/health/api/fleet)"
	@echo "  login:        admin / $$($(BIN)/python -c "import json; print(json.load(open('$(AIRFLOW_PASSWORDS)'))['admin'])")"
	@echo "  (stop with Ctrl-C; the demo's DAGs stay paused so the scheduler does not run them again)"
	@echo "  starting Airflow standalone: the UI answers once its log shows the api-server listening (~30-60 s)"
	@echo ""
	AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin \
	AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=$(AIRFLOW_PASSWORDS) \
	AIRFLOW__API_AUTH__JWT_SECRET=$$(cat $(AIRFLOW_HOME)/jwt_secret) \
	AIRFLOW__API__PORT=$(AIRFLOW_PORT) \
	AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://localhost:$(AIRFLOW_PORT)/execution/ \
	GAPWATCH_AIRFLOW_URL=$${GAPWATCH_AIRFLOW_URL:-http://localhost:$(AIRFLOW_PORT)} \
	AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True \
	AIRFLOW__LOGGING__LOGGING_LEVEL=INFO \
	PATH=$(ROOT)/$(BIN):$$PATH $(BIN)/airflow standalone

# The detection scoreboard: generated scenarios with known truth through the real evaluation.
scenarios: venv
	@echo "running the scenario scoreboards (model and adoption; about a minute) into docs/scoreboard.md"
	$(BIN)/python -m gapwatch.demo.scenarios --write docs/scoreboard.md

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf .airflow .gapwatch
