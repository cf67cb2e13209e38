# The two commands of the README:  make run  (app + worker on SQLite with demo data)  ·  make test
PYTHON ?= python3
PG_ADMIN_URL ?= postgresql+psycopg://root@127.0.0.1:5432/postgres
DEMO_ORDERS ?= 50000
PORT ?= 8501
WORKERS ?= 1
LINT_IMPORTS ?= lint-imports
# HTTPS for the app: make run SSL_CERT=data/tls/oms-cert.pem SSL_KEY=data/tls/oms-key.pem (oms tls self-signed)
SSL_CERT ?=
SSL_KEY ?=
STREAMLIT_TLS = $(if $(SSL_CERT),--server.sslCertFile $(SSL_CERT) --server.sslKeyFile $(SSL_KEY))

.PHONY: install run demo test test-sqlite test-postgres test-shifted lint bench browser-deps

install:
	$(PYTHON) -m pip install -q -r requirements-dev.txt
	$(PYTHON) -m pip install -q --no-deps -e .

data/oms.db:
	$(PYTHON) -m core.cli init --demo --orders $(DEMO_ORDERS)

demo: install data/oms.db

# The app and one worker (background jobs: docs/jobs.md) in one command; the worker stops with the app.
run: demo
	@$(PYTHON) -m core.cli worker --workers $(WORKERS) & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(PYTHON) -m streamlit run app.py --server.port $(PORT) --server.headless true $(STREAMLIT_TLS)

test: install lint browser-deps test-sqlite test-postgres test-shifted

# ruff, then the layering contracts of pyproject.toml (docs/architecture.md)
lint:
	$(PYTHON) -m ruff check .
	$(LINT_IMPORTS) --no-cache
	$(PYTHON) -m mypy

browser-deps:
	bash .ci/ensure-chromium
	bash .ci/ensure-pdf-fonts

# the job tests run on SqliteHuey and on RedisHuey (a Redis server on 127.0.0.1:6379)
test-sqlite:
	bash .ci/ensure-redis
	$(PYTHON) -m pytest -q

test-postgres:
	bash .ci/ensure-postgres
	bash .ci/ensure-redis
	OMS_TEST_BACKEND=postgres OMS_TEST_PG_ADMIN_URL=$(PG_ADMIN_URL) $(PYTHON) -m pytest -q tests/services tests/api

# the date-sensitive tests again under a shifted machine clock and another pinned date
test-shifted:
	bash .ci/ensure-faketime
	PYTHON=$(PYTHON) bash .ci/run-shifted

bench:
	$(PYTHON) bench/orders.py
	$(PYTHON) bench/seed.py
	$(PYTHON) bench/load.py
	$(PYTHON) bench/aftersales.py
	$(PYTHON) bench/forecast.py
	$(PYTHON) bench/dashboard.py
	$(PYTHON) bench/import.py
