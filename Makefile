# Two commands matter: `make render` (the policies rendered from defaults;
# VALUES=my-env.yaml for overrides) and `make test` (everything). Every target
# bootstraps the pinned tools it needs into $(CACHE), outside the clone.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CACHE ?= $(HOME)/.cache/ep-netpol
export EPNP_CACHE := $(CACHE)
BIN := $(CACHE)/bin
PYTHON := $(CACHE)/venv/bin/python
HELM := $(BIN)/helm
CHART := charts/ibm-ep-network-policies
RELEASE ?= ibm-ep-network-policies
NAMESPACE ?= event-processing
VALUES ?=

# Pinned tool versions (the only place they are set).
export HELM_VERSION := v4.3.1
export HELM3_VERSION := v3.22.0
export KUBECONFORM_VERSION := v0.8.0
export HELM_UNITTEST_VERSION := v1.1.2
export KUBE_ROUTER_VERSION := v2.1.0
export CALICO_VERSION := v3.31.0
export CACHE

PYTEST := $(PYTHON) -m pytest -rs
values_flag = $(if $(VALUES),--values $(VALUES))

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z][a-z0-9-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: tools tools-harness
tools: tools-harness e2e-tools ## Install every pinned tool: the harness's and the e2e control plane's

tools-harness: ## Install helm v4 and v3, kubeconform, helm-unittest, the venvs, Graphviz, the schemas
	@bash tools/bootstrap/tools.sh

.PHONY: render
render: ## Print the policies rendered from defaults (VALUES=file.yaml to override)
	@bash tools/bootstrap/tools.sh helm
	@$(HELM) template $(RELEASE) $(CHART) --namespace $(NAMESPACE) $(values_flag)

# `make test` is three pytest runs (tests/test_lint.py ran in `make lint`): the connectivity checks
# (nca, the switch matrices) and the rest share the two cores, each one's output printed when it
# ends; then the real control plane and dataplanes (tests/e2e) alone, since a denied probe is a
# timeout and a busy machine makes them slower, not surer. tests/test_conventions.py checks that the
# runs collect every test module exactly once.
.PHONY: test test-connectivity test-rest test-e2e
CONNECTIVITY_ARGS ?=
test: tools lint ## Run every test: the linters (make lint), then every test layer (docs/harness.md)
	@$(MAKE) --no-print-directory -j2 -Otarget test-connectivity test-rest
	@$(MAKE) --no-print-directory test-e2e

test-connectivity:
	$(PYTEST) tests/connectivity $(CONNECTIVITY_ARGS)

test-rest:
	$(PYTEST) tests --ignore=tests/connectivity --ignore=tests/e2e --ignore=tests/test_lint.py

test-e2e:
	$(PYTEST) tests/e2e

# The inner loop: `make test` but for its slow layers, the real control plane and the dataplane
# (tests/e2e) and the switch matrices (tests/connectivity/test_matrix*.py).
FAST_MATRIX := --ignore-glob="tests/connectivity/test_matrix*.py"

.PHONY: test-fast
test-fast: tools-harness lint ## make test but the control plane and dataplane (tests/e2e) and the switch matrix (test_matrix*.py)
	@$(MAKE) --no-print-directory -j2 -Otarget test-connectivity test-rest CONNECTIVITY_ARGS='$(FAST_MATRIX)'

.PHONY: unittest
unittest: tools-harness ## Run the chart's helm-unittest suites (and the template guards without the schema)
	$(BIN)/helm-unittest --strict $(CHART)
	$(BIN)/helm-unittest --strict --skip-schema-validation -f 'tests/no-schema/*_test.yaml' $(CHART)

.PHONY: unittest-update
unittest-update: tools-harness ## Re-record the helm-unittest snapshot (review the diff against the spec!)
	$(BIN)/helm-unittest --strict --update-snapshot $(CHART)

.PHONY: generate verify-generated docs verify-docs
generate: tools-harness ## Rewrite every generated file: values.yaml comments, READMEs, chart LICENSE, the connectivity picture
	$(PYTHON) -m tools.generate --write

verify-generated: tools-harness ## Fail naming each stale generated file (writes nothing; `make test` runs the same check)
	$(PYTHON) -m tools.generate --check

docs: generate ## (old name of `generate`)
verify-docs: verify-generated ## (old name of `verify-generated`)

.PHONY: bench
BENCH_MAKE_TEST ?= 1
bench: tools-harness ## Benchmarks: helm template vs baselines, the dataplanes, warm `make test` (BENCH_MAKE_TEST=0 skips it)
	$(PYTHON) -m tools.bench $(if $(filter 1,$(BENCH_MAKE_TEST)),--make-test)

.PHONY: clean
clean: ## Remove build outputs in the clone (the tool cache stays)
	rm -rf dist .pytest_cache

-include tools/make/*.mk
