"""End-to-end layers on real components: the dataplane lab (kube-router in network namespaces)."""
