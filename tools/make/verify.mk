# Connectivity: what the rendered policies let through, computed by network-config-analyzer
# (its own venv, $(CACHE)/venv-nca, from tools/requirements-nca.txt) and drawn by Graphviz
# (tools/connectivity/picture.py; `make generate` redraws the README's picture); both are
# installed by `make tools`. Included from the top-level Makefile (CACHE, PYTHON, `tools`).
#
#   make verify [VALUES=my-env.yaml] [LIVE=netpol.yaml]   table, differences from the page, SVG
#   make matrix                                           every switch combination, both directions
#   make bench-connectivity                               the same, timed (`make bench` runs it too)
#   make diff FROM=a.yaml TO=b.yaml [FROM_REF=ref | FROM_VERSION=0.1.0] [FAIL_ON_OPEN=1]
#                                                         what a change opens and closes, rule by rule
#   make explain FROM=pod TO=pod PORT=n [PROTOCOL=UDP] [VALUES=f.yaml]   why one connection is (not) allowed

VERIFY_SVG ?= dist/connectivity.svg

.PHONY: verify matrix bench-connectivity diff explain

verify: tools-harness ## Connectivity of the render (VALUES=, LIVE=kubectl get netpol -o yaml) vs the page; writes an SVG
	$(PYTHON) -m tools.connectivity.verify $(if $(VALUES),--values $(VALUES)) $(if $(LIVE),--live $(LIVE)) --svg $(VERIFY_SVG)

diff: tools-harness ## What a change opens and closes, rule by rule (FROM=, TO=, FROM_REF=, FROM_VERSION=, FAIL_ON_OPEN=1)
	$(PYTHON) -m tools.connectivity.diff $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO)) \
		$(if $(FROM_REF),--from-ref $(FROM_REF)) $(if $(FROM_VERSION),--from-version $(FROM_VERSION)) \
		$(if $(filter-out 0,$(FAIL_ON_OPEN)),--fail-on-open)

explain: tools-harness ## Why FROM= may or may not reach TO= on PORT= (PROTOCOL=, VALUES=): the policy and rule
	$(PYTHON) -m tools.connectivity.explain --from "$(FROM)" --to "$(TO)" --port "$(PORT)" \
		$(if $(PROTOCOL),--protocol $(PROTOCOL)) $(values_flag)

matrix: tools-harness ## Check every switch combination's connectivity against the documented flows
	$(PYTHON) -m tools.connectivity.matrix

bench-connectivity: tools-harness ## Time the whole connectivity matrix (render + nca + compare)
	$(PYTHON) -m tools.connectivity.matrix --bench

# `make bench` reports the matrix too (a prerequisite added here; the recipe stays the Makefile's).
bench: bench-connectivity
