# The chart's policies on real dataplanes: kube-router v2.1.0's NetworkPolicy controller and Calico
# v3.31.0's felix, each in throwaway network namespaces, probed with real TCP and UDP connections; each
# probe compared with the documented flows, nca's, and the other engine's. Needs root. Included from the
# top-level Makefile (CACHE, PYTHON, `tools`).
#
#   make dataplane [ENGINE=both] [VALUES=my-env.yaml]   truth table(s), a summary line per engine and
#                                         the engines compared; every coverage case without VALUES,
#                                         your values file alone with it; ENGINE=kube-router|calico|both
#   make dataplane-lifecycle [ENGINE=both] [REPEAT=1]   helm installs, upgrades, rolls back and
#                                         uninstalls while every promised flow is probed, round after
#                                         round: each window (flow, length) per step and engine
#   make bench-dataplane                  per engine: probes per second, enforcement latency, the suite's time

ENGINE ?= both
REPEAT ?= 1

.PHONY: dataplane dataplane-lifecycle bench-dataplane

dataplane: tools ## Probe the policies on real dataplanes (kube-router, Calico's felix; root) vs the page and nca (ENGINE= VALUES=)
	$(PYTHON) -m tools.e2e.dataplane --engine $(ENGINE) $(if $(VALUES),--values $(VALUES))

dataplane-lifecycle: tools ## Probe every flow while helm installs, upgrades, rolls back, uninstalls (root; ENGINE= REPEAT=)
	$(PYTHON) -m tools.e2e.lifecycle --engine $(ENGINE) --repeat $(REPEAT)

bench-dataplane: tools ## Time the dataplanes side by side: probes per second, enforcement latency, the suite
	$(PYTHON) -m tools.bench.dataplane

# `make bench` reports the dataplane too (a prerequisite added here; the recipe stays the Makefile's).
bench: bench-dataplane
