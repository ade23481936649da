# Linters: ruff (lint and format) and mypy for the harness (settings in pyproject.toml),
# shellcheck for the shell scripts, helm lint for the chart. `make test` runs `make lint` first, so a
# lint failure reads as one, before the tests. Included from the top-level Makefile (CACHE, PYTHON,
# PYTEST, `tools-harness`).
#
#   make lint     every linter; fails on the first that complains
#   make format   rewrite the Python code as `make lint` wants it (ruff format, then ruff's safe fixes)

RUFF := $(CACHE)/venv/bin/ruff
MYPY := $(CACHE)/venv/bin/mypy
SHELLCHECK ?= shellcheck
PY_SOURCES := tools tests
# Every shell script of the clone: *.sh, and the CI entry point (no extension).
SHELL_SCRIPTS = $(shell git ls-files --cached --others --exclude-standard '*.sh') .ci/run

.PHONY: lint lint-python lint-shell lint-chart format

lint: lint-python lint-shell lint-chart ## ruff, ruff format --check, mypy, shellcheck, helm lint --strict (v4 and v3)

lint-python: tools-harness ## ruff check, ruff format --check and mypy (strict for tools/) on the harness
	$(RUFF) check $(PY_SOURCES)
	$(RUFF) format --check $(PY_SOURCES)
	$(MYPY)

lint-shell: ## shellcheck every shell script
	@command -v $(SHELLCHECK) >/dev/null || { echo "shellcheck missing: make tools installs it (Debian's shellcheck)" >&2; exit 1; }
	$(SHELLCHECK) $(SHELL_SCRIPTS)

lint-chart: tools-harness ## helm lint --strict with defaults and with the max-config values (helm v4 and v3)
	$(PYTEST) tests/test_lint.py

format: tools-harness ## Format the harness (ruff format) and apply ruff's safe fixes
	$(RUFF) format $(PY_SOURCES)
	$(RUFF) check --fix $(PY_SOURCES)
