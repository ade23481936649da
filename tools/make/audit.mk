# The audit: the chart's installed policies judged on the cluster's real pods, with the
# engine of `make verify` (network-config-analyzer). Included from the top-level Makefile (PYTHON,
# `tools-harness`).
#
#   make audit SNAPSHOT=cluster.yaml [VALUES=my-values.yaml] [RELEASE=name] [NAMESPACE=ns]
#   make audit KUBECONFIG=~/.kube/config [CONTEXT=name] [VALUES=...]    read-only GETs of the live cluster
#
# SNAPSHOT is what `kubectl get namespaces,pods,networkpolicies -A -o yaml` prints. Without SNAPSHOT,
# the KUBECONFIG of the command line or the environment is read. RELEASE and NAMESPACE are passed only
# when given (the Makefile's defaults are `make render`'s): without them, every release of the chart
# in the input is audited, in the namespace helm's annotations name.

SNAPSHOT ?=
CONTEXT ?=
given = $(filter command line environment,$(origin $(1)))

audit_flags = $(if $(SNAPSHOT),--snapshot '$(SNAPSHOT)',$(if $(KUBECONFIG),--kubeconfig '$(KUBECONFIG)')) \
	$(if $(CONTEXT),--context '$(CONTEXT)') $(if $(VALUES),--values '$(VALUES)') \
	$(if $(call given,RELEASE),--release '$(RELEASE)') $(if $(call given,NAMESPACE),--namespace '$(NAMESPACE)')

.PHONY: audit

audit: tools-harness ## Judge the installed policies on the real pods (SNAPSHOT=kubectl get ns,pods,netpol -A -o yaml, or KUBECONFIG=)
	@test -n "$(SNAPSHOT)$(KUBECONFIG)" || { echo "usage: make audit SNAPSHOT=cluster.yaml | KUBECONFIG=path [VALUES=...] [RELEASE=...]" >&2; exit 2; }
	@test -z "$(SNAPSHOT)" -o -z "$(filter command line,$(origin KUBECONFIG))" || { echo "make audit: SNAPSHOT= or KUBECONFIG=, not both" >&2; exit 2; }
	$(PYTHON) -m tools.audit $(audit_flags)
