"""End-to-end layers on real components: the control plane (kube-apiserver and etcd) and the dataplane
lab (kube-router or Calico's felix in network namespaces)."""
