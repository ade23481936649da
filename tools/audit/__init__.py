"""`make audit`: the chart's installed policies judged on the cluster's real pods, layer by layer:

snapshot    the namespaces, pods and NetworkPolicies the audit reads (a kubectl snapshot)
kubeconfig  a small kubeconfig reader: client certificates, bearer tokens, CA data or files
live        the same three lists from a live API server (read-only, paged GETs)
roles       which documented role each real pod plays; the cluster the engine and the model run on
findings    the engine (nca) on the real pods, the model's documented flows, and the findings
cli         `python -m tools.audit`
"""
