# Every command a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
MANAGE := $(PY) manage.py
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crm
TEST_REDIS_URL ?= redis://127.0.0.1:6379/9
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/8

.DEFAULT_GOAL := help
.PHONY: help install run test lint format bench vendor messages check-deploy clean

help: ## List the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed ## Create the virtualenv and install the pinned requirements

run: install ## Set up (env file, migrations, translations, demo data) and serve on http://127.0.0.1:8000
	$(PY) -m crm.devenv
	$(MANAGE) migrate --noinput
	$(MANAGE) compilemessages --ignore=.venv -v 0
	$(MANAGE) seed_demo --if-empty
	$(MANAGE) devserver

test: install ## Run the whole test suite on PostgreSQL and Redis, then the demo's page tour on SQLite (narrow it with PYTEST_ARGS=...)
	DJANGO_SETTINGS_MODULE=crm.test_settings $(MANAGE) compilemessages --ignore=.venv -v 0
	@# pytest-django creates the test database itself; exit status 5 means nothing was collected.
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(VENV)/bin/pytest $(PYTEST_ARGS); status=$$?; \
		if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
		exit $$status
	@# Every page as every demo user once more, on the embedded SQLite database and without Redis,
	@# as `make run` starts (an in-memory database: nothing is written to var/). Not when narrowed.
	if [ -z "$(PYTEST_ARGS)" ]; then \
		DATABASE_URL=sqlite:// REDIS_URL= $(VENV)/bin/pytest -q crm/tests/test_demo_pages.py; \
	fi

lint: install ## Lint (ruff), check the import layers (import-linter) and that migrations match the models
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@# The contracts are in pyproject.toml ([tool.importlinter]); a run takes well under a second.
	$(VENV)/bin/lint-imports --no-cache
	@# An in-memory database: the check compares models with migration files, not with any data.
	DEBUG=true DATABASE_URL=sqlite:// $(MANAGE) makemigrations --check --dry-run

format: install ## Format the code with ruff
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install ## Load generated data and measure the main pages, the import worker and campaign sends on PostgreSQL; writes docs/benchmarks.md
	@# The bench databases are throwaway: a key made up per run is enough where .env has none.
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(BENCH_REDIS_URL)} SECRET_KEY=$${SECRET_KEY:-$$(openssl rand -hex 32)} $(MANAGE) bench $(BENCH_ARGS)
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} SECRET_KEY=$${SECRET_KEY:-$$(openssl rand -hex 32)} $(MANAGE) bench_import $(BENCH_IMPORT_ARGS)
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} SECRET_KEY=$${SECRET_KEY:-$$(openssl rand -hex 32)} $(MANAGE) bench_send $(BENCH_SEND_ARGS)

vendor: ## Refresh the vendored front-end libraries under static/vendor/ from npm
	$(PYTHON) static/vendor/vendor.py

messages: install ## Extract translatable strings and compile the catalogues
	$(MANAGE) makemessages -l zh_Hans -l en --ignore=.venv --ignore=static/vendor --ignore=staticfiles --ignore=test-artifacts --no-obsolete
	$(MANAGE) makemessages -d djangojs -l zh_Hans -l en --ignore=.venv --ignore=static/vendor --ignore=staticfiles --ignore=test-artifacts --no-obsolete
	$(MANAGE) compilemessages --ignore=.venv

check-deploy: install ## Check production settings with Django's deployment checklist
	DEBUG=false SECRET_KEY=$$($(PY) -c 'import secrets;print(secrets.token_urlsafe(50))') ALLOWED_HOSTS=crm.example.com \
		$(MANAGE) check --deploy --fail-level WARNING

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var/ staticfiles/
