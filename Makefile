# Two commands set everything up on a fresh machine with Python 3.11 and make:
#   make demo   - create .venv if missing, install, run the main job on data/sample
#   make test   - create .venv if missing, install, lint (ruff) and run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv sample bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev,spark]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/ptdenial demo --out out

lint: $(STAMP)
	$(BIN)/ruff check ptdenial tests bench notebooks conftest.py

# pytest-xdist: one worker per core (-n auto), whole files per worker
# (--dist loadfile), except that Spark and the notebooks, which each want both
# cores, share one worker and start first (see conftest.py). Then the 25
# slowest tests.
test: $(STAMP) lint
	$(BIN)/python -m pytest -n auto --dist loadfile --durations=25

sample: $(STAMP)
	$(BIN)/ptdenial sample --out data/sample

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
