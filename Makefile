# One-command entry points. Each target creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench world clean

$(STAMP): pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## the main job: the report's experiment (collection day, DSSM + Contextual, DSSM vs custom over HTTP)
	$(BIN)/botify demo

test: $(STAMP)  ## lint, type-check and run the tests
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q

bench: $(STAMP)  ## benchmarks (service and cluster ones need wrk, nginx, redis-server: installed here as root)
	@command -v wrk >/dev/null && command -v nginx >/dev/null && command -v redis-server >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk nginx redis-server >/dev/null; } || true
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) worlds runs
