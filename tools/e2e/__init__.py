"""End-to-end: the chart against a real kube-apiserver and etcd (controlplane), and the dataplane lab."""
