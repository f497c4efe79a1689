# vbp-agent: the two commands a new machine needs are `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
ODBC_PKGS := unixodbc odbc-postgresql odbc-mariadb libsqliteodbc
BROWSER_PKGS := chromium chromium-driver
STAMP := $(VENV)/.installed

.PHONY: setup odbc browser venv test test-clock test-tools lint demo bench bench-ingest bench-detect bench-evaluate bench-platform bench-mapping bench-group bench-console platform-conformance soak chaos services install clean

setup: odbc browser $(STAMP)

# Debian ODBC driver manager and drivers, installed only when odbcinst does not list them.
odbc:
	@need=0; \
	if ! command -v odbcinst >/dev/null 2>&1; then need=1; else \
	  drivers="$$(odbcinst -q -d 2>/dev/null)"; \
	  for d in PostgreSQL MariaDB SQLite3; do echo "$$drivers" | grep -qi "$$d" || need=1; done; \
	fi; \
	if [ $$need = 1 ]; then \
	  echo "installing ODBC packages: $(ODBC_PKGS)"; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root (or install $(ODBC_PKGS) yourself)" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(ODBC_PKGS) >/dev/null; \
	fi

# Debian's chromium and its driver, for the console's browser tests (tests/e2e/test_console_browser.py).
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  echo "installing browser packages: $(BROWSER_PKGS)"; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root (or install $(BROWSER_PKGS) yourself); the browser tests are skipped without them" >&2; exit 0; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PKGS) >/dev/null; \
	fi

# The virtualenv, reinstalled only when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

# PostgreSQL and MariaDB for the integration tests, started when they are down.
services:
	@bash scripts/ensure-services.sh

# Debian's systemd tools, for checking the unit file (systemd-analyze verify / security).
test-tools:
	@command -v systemd-analyze >/dev/null 2>&1 || { echo "installing systemd tools"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null; }

# The whole suite on today's clock and, beside it, the date-sensitive part (unit, contract, integration)
# with the clock of the suite and of every Python process it starts moved a year ahead and a year back.
test: setup services test-tools lint
	bash scripts/test-all.sh $(BIN)/python $(PYTEST_ARGS)

# The house rules as tools: ruff, mypy on the domain and the store, the import-linter layers.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test-clock: setup services
	CLOCK_ONLY=1 bash scripts/test-all.sh $(BIN)/python

demo: setup
	$(BIN)/vbp-agent demo

bench: bench-ingest bench-detect bench-evaluate bench-platform bench-mapping

bench-ingest: setup services
	$(BIN)/python bench/bench_ingest.py

bench-detect: setup
	$(BIN)/python bench/bench_detect.py

bench-evaluate: setup
	$(BIN)/python bench/bench_evaluate.py

bench-platform: setup
	$(BIN)/python bench/bench_platform.py

# a hospital group: BENCH_AGENTS agents (default 10), each with its own simulated hospital, on one PostgreSQL
# state store for a simulated week; p95 poll, lock waits, deadlocks, rows equal to single-agent runs, RSS
bench-group: setup services
	$(BIN)/python bench/bench_group.py

# 对码 on the 400+-item HIS dictionary fixture: per item class, grouped right automatically / sent to
# review / grouped wrong, as one JSON line (BENCH_VERBOSE=1 lists the misses)
bench-mapping: setup
	$(BIN)/python bench/bench_mapping.py

# the console's pages on 2,000 products, 5,000 items and two years of usage, fetched over HTTP, against each
# page's data read alone; the last line is JSON: {"pages": {...}, "p50_ms", "p95_ms", "queries_p95_ms"}
bench-console: setup
	$(BIN)/python bench/bench_console.py

# each platform profile's requests and answers against its golden samples (tests/conformance/<profile>/);
# the last line is JSON: {"profiles", "checks", "failed"}
platform-conformance: setup
	$(BIN)/python tests/conformance/run.py

# the other soak-marked tests, then the soak run itself (SOAK_HOURS, default 24; SOAK_SPEED, default 100),
# whose last line is the JSON summary
soak: setup services
	$(BIN)/python -m pytest -m soak -p no:cacheprovider tests --ignore=tests/soak
	$(BIN)/python scripts/soak.py

# hostile and broken input, kill -9, state-store restarts (a throwaway cluster) and idle-connection floods;
# not part of `make test`. The last line is the JSON summary (CHAOS_PARTS=sheets,flood picks parts).
chaos: setup services
	$(BIN)/python scripts/chaos.py

install: setup
	bash systemd/install.sh

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
