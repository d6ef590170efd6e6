# Two commands set everything up on a fresh machine with Python 3.11 and make:
#   make demo   - create .venv if missing, install, run the main job on data/sample
#   make test   - create .venv if missing, install, lint (ruff) and run the tests
# and one builds the documentation site:
#   make docs   - create .venv if missing, install, build docs/_build/html
#                 (notebooks executed; PTDENIAL_DOCS_EXECUTE=cache|off to skip that)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv sample bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev,spark,docs]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/ptdenial demo --out out

lint: $(STAMP)
	$(BIN)/ruff check ptdenial tests bench notebooks docs conftest.py

# pytest-xdist: one worker per core (-n auto), whole files per worker
# (--dist loadfile); the Spark tests, the longest file, start first on one
# worker, the other long files next, longest first (conftest.py). Then the
# 25 slowest tests.
test: $(STAMP) lint
	$(BIN)/python -m pytest -n auto --dist loadfile --durations=25

sample: $(STAMP)
	$(BIN)/ptdenial sample --out data/sample

docs: $(STAMP)
	$(BIN)/sphinx-build -b html -n -W --keep-going -q docs docs/_build/html
	@echo "Open docs/_build/html/index.html"

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache docs/_build docs/api docs/reference docs/notebooks
