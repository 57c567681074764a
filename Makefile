# disclosure_app — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The local demo is not production (which insists on https, its own keys and TRUSTED_HOSTS):
# every local command says so. A real deployment never sets this.
FLASK := DISCLOSURE_PRODUCTION=false $(BIN)/flask --app disclosure_app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test nginx test-sqlite test-postgres postgres-server setup assets config migrate seed reset-demo lint security audit-deps chromium clean

## run: set up, migrate, seed the demo data (first time only) and serve on 127.0.0.1:5000
run: setup config migrate seed
	$(FLASK) run --host $(HOST) --port $(PORT)

PYTEST := $(BIN)/python -m pytest -n auto --dist loadgroup -p no:cacheprovider

## test: install everything the tests need (Chromium, PostgreSQL) and run the whole suite twice:
## on SQLite, then on a throwaway PostgreSQL cluster that this target starts and removes
test: setup chromium nginx postgres-server
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(MAKE) --no-print-directory security
	$(PYTEST)
	$(MAKE) --no-print-directory test-postgres

test-sqlite: setup chromium
	$(PYTEST)

test-postgres: setup chromium postgres-server
	@set -e; dir=$$(mktemp -d /tmp/disclosure-pg.XXXXXX); \
	port=$$($(BIN)/python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"); \
	trap 'scripts/pg_cluster.sh stop "$$dir"' EXIT; \
	scripts/pg_cluster.sh start "$$dir" "$$port"; \
	echo "PostgreSQL test cluster on 127.0.0.1:$$port"; \
	TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$$port/postgres" \
		$(PYTEST) -m "not engine_independent"

# Debian's PostgreSQL server (preinstalled on most of our machines; installed when missing).
postgres-server:
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update && apt-get install -y postgresql)

setup: $(VENV)/.installed assets

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,postgres]'
	touch $@

# GOV.UK Frontend (CSS, JS) compiled with the force's branding and served by the app itself.
assets: disclosure_app/static/css/app.css

disclosure_app/static/css/app.css: package.json package-lock.json scripts/build_assets.mjs $(wildcard disclosure_app/assets/*)
	command -v npm >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent build:assets

# A random SECRET_KEY for this machine, written once to the git-ignored instance folder.
config: instance/config.py

instance/config.py:
	mkdir -p instance
	$(BIN)/python -c "import secrets; print(f'SECRET_KEY = {secrets.token_hex(32)!r}')" > $@
	echo 'TRUSTED_HOSTS = ["127.0.0.1", "localhost"]  # the only names the local demo answers to' >> $@
	@echo "Wrote $@ with a new random SECRET_KEY."

migrate: setup config
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed-demo
	$(FLASK) audit demo-checkpoint

## reset-demo: throw away the local database and seed fresh demo data (new passwords)
reset-demo: setup config
	rm -f instance/disclosure.sqlite instance/disclosure.sqlite-wal instance/disclosure.sqlite-shm
	rm -f instance/disclosure.keys.sqlite instance/disclosure.keys.sqlite-wal instance/disclosure.keys.sqlite-shm
	rm -rf instance/kek
	$(FLASK) db upgrade
	$(FLASK) seed-demo

# The slow-client test runs the shipped reverse-proxy configuration (deploy/nginx) in front of
# gunicorn: Debian's nginx.
nginx:
	command -v nginx >/dev/null || (apt-get update && apt-get install -y nginx)

# The browser tests drive Debian's Chromium; a test tool cannot download its own browser here.
chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo

## security: static security analysis (bandit) and the dependency audit
security: setup
	$(BIN)/bandit -q -c pyproject.toml -r disclosure_app workflows
	$(MAKE) --no-print-directory audit-deps

## audit-deps: known vulnerabilities in the pinned dependencies (pip-audit); skipped, and says so,
## when the vulnerability database cannot be reached
audit-deps: setup
	scripts/audit_deps.sh constraints.txt

clean:
	rm -rf $(VENV) node_modules disclosure_app/static/css disclosure_app/static/js disclosure_app/static/images
