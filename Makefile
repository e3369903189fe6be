# Lantian Inspect 蓝天巡检 — `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
export LANTIAN_DATA_DIR ?= $(CURDIR)/instance

.PHONY: help install browser run serve demo test test-deep test-fast lint format bench load clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## Create .venv and install the project with its dev tools

demo: install ## Migrate the database and load checklists, demo registry and users
	$(BIN)/lantian-server db upgrade
	$(BIN)/lantian-server demo

run: demo ## Set everything up and serve the demo on 127.0.0.1:$(PORT)
	$(BIN)/lantian-server run --host 127.0.0.1 --port $(PORT)

serve: install ## Production: migrate, then serve with gunicorn (deploy/gunicorn.conf.py; README 部署)
	$(BIN)/lantian-server db upgrade
	$(BIN)/gunicorn -c deploy/gunicorn.conf.py 'server:create_app()'

browser: ## Debian's Chromium and a CJK font for the browser tests (apt; needs root or sudo)
	@if [ -x /usr/bin/chromium ] && fc-list :lang=zh | grep -q .; then exit 0; fi; \
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null

test: install browser ## Set everything up and run the tests (SQLite and PostgreSQL side by side)
	$(BIN)/python scripts/ensure_test_db.py > $(VENV)/test-db-url
	LANTIAN_TEST_DATABASE_URL="$${LANTIAN_TEST_DATABASE_URL:-$$(cat $(VENV)/test-db-url)}" \
		$(BIN)/python scripts/run_tests.py $(PYTEST_ARGS)

test-deep: install browser ## As make test, with every race test's full rounds and more fuzz examples (longer)
	$(BIN)/python scripts/ensure_test_db.py > $(VENV)/test-db-url
	LANTIAN_TEST_DEPTH=deep LANTIAN_TEST_DATABASE_URL="$${LANTIAN_TEST_DATABASE_URL:-$$(cat $(VENV)/test-db-url)}" \
		$(BIN)/python scripts/run_tests.py $(PYTEST_ARGS)

test-fast: install ## The quick loop: SQLite only, no real-process or browser tests (tests/e2e)
	$(BIN)/pytest -q -k "not postgresql" --ignore=tests/e2e $(PYTEST_ARGS)

lint: install ## ruff (lint and format check) and the import rules
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install ## Benchmarks side by side (loopback, ~30 min); results go to bench/RESULTS.md
	@if command -v pg_isready >/dev/null && ! pg_isready -h 127.0.0.1 -p 5432 -q; then \
		echo "starting PostgreSQL"; \
		pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql)" main start || true; \
		for _ in $$(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done; \
	fi
	@$(BIN)/python -c "import kinto" 2>/dev/null || $(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

load: install ## Load test: 100 inspectors × 2 min against gunicorn + PostgreSQL (LOAD_ARGS='--users 10 --seconds 15')
	$(BIN)/python bench/load_test.py $(LOAD_ARGS)

clean: ## Remove the virtual environment and caches (keeps instance/)
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
