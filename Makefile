# FaceRec tasks. `make run` and `make test` are the README's two commands.
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run superuser serve worker test test-fast fuzz lint bench

install:
	scripts/install.sh

run: install  ## install, migrate and start the app on SQLite (development server, and a job worker beside it)
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py setup_roles -v0
	DEBUG=1 $(PY) manage.py worker -v0 & trap "kill $$! 2>/dev/null" EXIT INT TERM; \
	DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

superuser:  ## create the first admin user
	DEBUG=1 $(PY) manage.py createsuperuser

serve: install  ## production-style: gunicorn (needs SECRET_KEY and ALLOWED_HOSTS)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_roles -v0
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py worker & trap "kill $$! 2>/dev/null" EXIT INT TERM; \
	.venv/bin/gunicorn facerec.wsgi --bind $(HOST):$(PORT) --workers $${WEB_CONCURRENCY:-2} --timeout 60

worker:  ## a job worker on its own (more of them, or on other hosts: docs/jobs.md)
	$(PY) manage.py worker

test:  ## install and run every test (SQLite, then PostgreSQL when reachable)
	scripts/test.sh

test-fast:  ## the tests that run without the face engine, in well under a minute (conftest.py)
	SECRET_KEY=$${SECRET_KEY:-test-only-secret-key} $(PY) -m pytest -m "not engine and not slow" -q

fuzz:  ## schemathesis against the API's own schema on a throwaway server (part of `make test`)
	scripts/fuzz.sh

lint:
	.venv/bin/ruff check .
	.venv/bin/mypy

LFW_DIR ?= ../shared/lfw-dev

bench: install  ## every benchmark: ratios against a baseline measured in the same run
	$(PY) bench/register.py
	$(PY) bench/identify.py
	DEBUG=1 $(PY) manage.py evaluate --pairs $(LFW_DIR)/pairs.csv --workers 2 --cache data/lfw-embeddings.npz >/dev/null
	$(PY) bench/levers.py --cache data/lfw-embeddings.npz --k 100 --frames 2
	$(PY) bench/search.py --embeddings data/lfw-embeddings.npz --sizes 10000,100000,1000000 --ef-search 40,100,120,200
	$(PY) bench/bulk_import.py
	$(PY) bench/decode.py
	$(PY) bench/load.py
	$(PY) bench/kiosk_load.py
	$(PY) bench/liveness.py
	$(PY) bench/kiosk_fusion.py --enrolled 1000 --known 100 --strangers 100
	$(PY) bench/jobs.py
