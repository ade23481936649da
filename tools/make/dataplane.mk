# The chart's policies on a real dataplane: kube-router v2.1.0's NetworkPolicy controller in
# throwaway network namespaces, probed with real TCP and UDP connections; each probe compared with the
# documented flows and nca's. Needs root. Included from the top-level Makefile (CACHE, PYTHON, `tools`).
#
#   make dataplane [VALUES=my-env.yaml]   truth table(s) and the summary line; every coverage case
#                                         without VALUES, your values file alone with it
#   make bench-dataplane                  probes per second, enforcement latency, the suite's time

.PHONY: dataplane bench-dataplane

dataplane: tools ## Probe the policies on a real dataplane (kube-router in netns; root) vs the page and nca (VALUES=)
	$(PYTHON) -m tools.e2e.dataplane $(if $(VALUES),--values $(VALUES))

bench-dataplane: tools ## Time the dataplane: probes per second, enforcement latency, the suite
	$(PYTHON) -m tools.bench.dataplane

# `make bench` reports the dataplane too (a prerequisite added here; the recipe stays the Makefile's).
bench: bench-dataplane
