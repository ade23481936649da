"""End-to-end layers on real components: the control plane (kube-apiserver and etcd) and the dataplane
lab (kube-router in network namespaces)."""
