# Connectivity: what the rendered policies let through, computed by network-config-analyzer
# (its own venv, $(CACHE)/venv-nca, from tools/requirements-nca.txt) and drawn by Graphviz
# (tools/connectivity/picture.py; `make generate` redraws the README's picture); both are
# installed by `make tools`. Included from the top-level Makefile (CACHE, PYTHON, `tools`).
#
#   make verify [VALUES=my-env.yaml] [LIVE=netpol.yaml]   table, differences from the page, SVG
#   make matrix                                           every switch combination, both directions
#   make bench-connectivity                               the same, timed (`make bench` runs it too)

VERIFY_SVG ?= dist/connectivity.svg

.PHONY: verify matrix bench-connectivity

verify: tools-harness ## Connectivity of the render (VALUES=, LIVE=kubectl get netpol -o yaml) vs the page; writes an SVG
	$(PYTHON) -m tools.connectivity.verify $(if $(VALUES),--values $(VALUES)) $(if $(LIVE),--live $(LIVE)) --svg $(VERIFY_SVG)

matrix: tools-harness ## Check every switch combination's connectivity against the documented flows
	$(PYTHON) -m tools.connectivity.matrix

bench-connectivity: tools-harness ## Time the whole connectivity matrix (render + nca + compare)
	$(PYTHON) -m tools.connectivity.matrix --bench

# `make bench` reports the matrix too (a prerequisite added here; the recipe stays the Makefile's).
bench: bench-connectivity
