# End-to-end tests against a real etcd + kube-apiserver.
# Included from the top-level Makefile, which defines CACHE, PYTHON and the
# `tools` target (helm, helm3, the venv).
#
#   make e2e-tools   build kube-apiserver and etcd into $(CACHE)/bin (idempotent)
#   make e2e         the above, then pytest tests/e2e (EPNP_REQUIRE_E2E=1: missing
#                    binaries fail instead of skip)

E2E_BUILD := tools/bootstrap/kube/build.sh
E2E_PYTEST_ARGS ?=

.PHONY: e2e-tools e2e

e2e-tools: ## Build the real kube-apiserver and etcd into $(CACHE)/bin (idempotent)
	EPNP_CACHE=$(CACHE) bash $(E2E_BUILD)

# The binaries were just built, so a skip here would hide a broken build.
e2e: tools e2e-tools ## Install/upgrade/rollback/uninstall the chart against a real API server
	EPNP_CACHE=$(CACHE) EPNP_REQUIRE_E2E=1 $(PYTHON) -m pytest tests/e2e $(E2E_PYTEST_ARGS)
