# Two commands on a fresh machine with only Python and make:
#   make demo   -- create .venv, install, run the main job on Complete Journey
#   make test   -- create .venv, install dev extras, ruff + mypy --strict + pytest
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench browser postgres fuzz clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

lint: $(STAMP)
	$(PY) -m ruff check src tests examples benchmarks fuzz

typecheck: $(STAMP)
	$(PY) -m mypy --strict src tests/typing

pytest: $(STAMP)
	$(PY) -m pytest -q

# The HTML report test renders the report in headless Chromium (Debian package chromium).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (Debian) for the report browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else \
	    echo "chromium not found and cannot be installed here: the browser test will be skipped"; \
	  fi; }

# The database tests (tests/db) start a throwaway PostgreSQL server from the Debian package
# postgresql (initdb + pg_ctl in /usr/lib/postgresql/*/bin; no cluster of its own is started).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing postgresql (Debian) for the database tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; \
	  else \
	    echo "postgresql not found and cannot be installed here: the database tests will be skipped"; \
	  fi; }

test: lint typecheck browser postgres pytest

# Adversarial runs, not part of `make test`'s time budget (about 10 minutes on 2 cores):
# 10,000 random allocation problems against brute force with every method, and 1,000
# mutated save files per format loaded in child processes. Non-zero exit on any failure.
FUZZ_N ?= 10000
FUZZ_FILES ?= 1000
fuzz: $(STAMP)
	$(PY) fuzz/allocation.py --n $(FUZZ_N) --seed 0
	@if [ -f fuzz/files.py ]; then $(PY) fuzz/files.py --n $(FUZZ_FILES) --seed 0; fi

# make bench BENCH_ARGS=--quick for a smoke run of every benchmark (about a minute)
bench: $(STAMP)
	$(PY) benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info .mypy_cache .pytest_cache .ruff_cache
