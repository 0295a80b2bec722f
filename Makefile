# ga4lake — every target is a thin wrapper over the `ga4lake` CLI or the installer.
# Installs are cached in $(GA4LAKE_HOME) (default ~/.cache/ga4lake); state lives in ./var.
SHELL := /bin/bash
GA4LAKE_HOME ?= $(HOME)/.cache/ga4lake
VENV := $(GA4LAKE_HOME)/venvs/main
PY := $(VENV)/bin/python
GA4LAKE := $(VENV)/bin/ga4lake
PYTEST_ARGS ?=
# mypy's cache lives with the other installs so a fresh checkout (CI) re-checks only what changed
MYPY := MYPY_CACHE_DIR=$(GA4LAKE_HOME)/cache/mypy $(VENV)/bin/mypy
export GA4LAKE_HOME

.PHONY: help install install-minio up down status demo test test-unit test-integration test-minio lint fmt bench clean demo-video

help:
	@echo "make demo   - install what is missing, start the stack, run the main job"
	@echo "make test   - install what is missing, start the stack, run every test"
	@echo "make install | up | down | status | lint | test-unit | test-integration | test-minio | bench | clean"
	@echo "make demo-video - record a walkthrough of the Superset dashboard into build/ (ga4lake dashboard video)"

install:
	PYTHONPATH=src python3 -m ga4lake.stack.install

install-minio:
	PYTHONPATH=src python3 -m ga4lake.stack.install --minio

up: install
	$(GA4LAKE) stack up

down:
	@if [ -x $(GA4LAKE) ]; then $(GA4LAKE) stack down; fi

status:
	$(GA4LAKE) stack status

demo: up
	$(PY) -m ga4lake.demo

lint: install
	$(VENV)/bin/ruff check src tests airflow
	$(VENV)/bin/ruff format --check src tests airflow
	$(MYPY)

fmt:
	$(VENV)/bin/ruff format src tests airflow
	$(VENV)/bin/ruff check --fix src tests airflow

# unit tests in UNIT_WORKERS pytest-xdist processes, one test file per process at a time (their module
# fixtures stay whole); on 2 cores 2 workers cut the unit stage from ~520 s to ~340 s. UNIT_WORKERS=0 runs
# them in one process.
UNIT_WORKERS ?= 2
UNIT_PYTEST = $(VENV)/bin/pytest tests/unit -n $(UNIT_WORKERS) --dist loadfile

test-unit: install
	$(UNIT_PYTEST) $(PYTEST_ARGS)

# integration tests start the stack themselves (session fixture) and leave it running
test-integration: install
	$(VENV)/bin/pytest tests/integration $(PYTEST_ARGS)

# the lake smoke flow and the GA4 load (landing -> bronze -> silver -> gold, restatement) with MinIO as the
# S3 server (separate state dir and build)
MINIO_ENV := GA4LAKE_S3=minio GA4LAKE_STATE_DIR=$(CURDIR)/var/minio-stack GA4LAKE_UI_SERVICES=
MINIO_TESTS := tests/integration/test_smoke.py \
	tests/integration/test_lake.py::test_ingest_reconciles_layers_and_rerun_changes_nothing \
	tests/integration/test_lake.py::test_restated_days_replace_their_rows
test-minio: install-minio down
	$(MINIO_ENV) $(VENV)/bin/pytest $(MINIO_TESTS) $(PYTEST_ARGS); rc=$$?; \
	$(MINIO_ENV) $(GA4LAKE) stack down; exit $$rc

# The stack starts in the background while ruff, mypy and the unit tests run (none needs a service): on 2
# cores that hides most of its ~6 min start. The integration tests then find it up (their session fixture
# starts whatever is still missing and fails loudly naming the service).
TEST_UP_LOG = $${GA4LAKE_STATE_DIR:-$(CURDIR)/var}/logs/make-test-stack-up.log
test: install
	@mkdir -p "$$(dirname $(TEST_UP_LOG))"; \
	echo "make test: starting the stack in the background (log: $(TEST_UP_LOG))"; \
	$(GA4LAKE) stack up > "$(TEST_UP_LOG)" 2>&1 & up=$$!; \
	rc=0; { $(VENV)/bin/ruff check src tests airflow && $(MYPY) && \
	  $(UNIT_PYTEST) --durations=15 $(PYTEST_ARGS); } || rc=$$?; \
	if ! wait $$up; then echo "make test: background stack up failed:"; tail -n 20 "$(TEST_UP_LOG)"; fi; \
	[ $$rc -eq 0 ] || exit $$rc; \
	$(VENV)/bin/pytest tests/integration --durations=40 $(PYTEST_ARGS)

# the Superset dashboard in headless chromium (Playwright), recorded to build/dashboard-walkthrough.webm
demo-video: up
	$(GA4LAKE) dashboard video

bench: up
	cd $(CURDIR) && $(PY) -m benchmarks.harness

clean: down
	rm -rf var
