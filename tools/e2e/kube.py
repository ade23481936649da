"""The fixture as API objects (no kubelet): a Node, Namespaces with their default ServiceAccount,
Pods whose status the lab sets, the case's NetworkPolicies applied by difference; and the addresses
the lab gives pods and outside blocks.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tools.connectivity.intervals import IpAtom, contains
from tools.e2e.client import ApiError, Client
from tools.e2e.lab import LabError

Obj = dict[str, Any]

NODE = "epnp-lab-node"
# Pod address ranges, the first that no CIDR of the case's policies touches (an ipBlock matching a pod
# address is left to the implementation by the API; kube-router and felix match it, nca's model does not).
POD_RANGES = ("100.64.0.0/16", "100.96.0.0/16", "198.18.0.0/16", "172.31.0.0/16", "10.244.0.0/16")
# Outside addresses picked first when their block allows (documentation ranges, RFC 5737).
OUTSIDE_FIRST = ("203.0.113.10", "198.51.100.10", "192.0.2.10")
UNUSABLE = tuple(ipaddress.ip_network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3"))

MANAGED = "epnp.lab/applied"  # annotation: hash of what the lab applied, so an unchanged object is skipped


def choose_pod_range(all_objs: Iterable[Obj]) -> str:
    """The first POD_RANGES entry no policy's CIDR overlaps (a /0 overlaps everything: ignored here
    and reported per probe)."""
    nets = []
    for o in all_objs:
        for direction, side in (("ingress", "from"), ("egress", "to")):
            for rule in o.get("spec", {}).get(direction) or []:
                for peer in rule.get(side) or []:
                    if "ipBlock" in peer:
                        net = ipaddress.ip_network(peer["ipBlock"]["cidr"], strict=False)
                        if net.version == 4 and net.prefixlen > 0:
                            nets.append(net)
    for r in POD_RANGES:
        if not any(ipaddress.ip_network(r).overlaps(n) for n in nets):
            return r
    raise LabError(f"every candidate pod range overlaps a CIDR of the policies: {POD_RANGES}")


def outside_address(atom: IpAtom, avoid: Sequence[ipaddress.IPv4Network]) -> str:
    def ok(a: int) -> bool:
        addr = ipaddress.IPv4Address(a)
        return (
            contains(atom.intervals, a)
            and not any(addr in n for n in (*UNUSABLE, *avoid))
            and not str(addr).endswith((".0", ".255"))
        )

    for s in OUTSIDE_FIRST:
        if ok(int(ipaddress.IPv4Address(s))):
            return s
    for lo, hi in atom.intervals:
        for a in (lo + 10, lo + 1, (lo + hi) // 2, hi - 1, lo):
            if lo <= a <= hi and ok(a):
                return str(ipaddress.IPv4Address(a))
    raise LabError(f"no usable address in outside block {atom.name}")


def parallel(fn: Callable[[Any], None], items: Sequence[Any], workers: int = 8) -> None:
    """API calls side by side (each opens its own TLS connection: latency, not CPU, bounds them).
    Threads started here inherit the calling thread's network namespace: the lab's node."""
    if len(items) < 2:
        for it in items:
            fn(it)
        return
    with ThreadPoolExecutor(min(workers, len(items))) as pool:
        list(pool.map(fn, items))


def _h(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


class Kube:
    """The fixture as API objects: Node, Namespaces (+ default ServiceAccount), Pods with their status."""

    def __init__(self, client: Client, node_ip: str) -> None:
        self.c = client
        self.node_ip = node_ip
        self.ns_labels: dict[str, dict[str, str]] = {}
        self.pods: dict[str, tuple[str, str, dict[str, str], str]] = {}  # key -> (ns, name, labels, ip)

    def create_node(self) -> None:
        self.c.call("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}})
        node = self.c.call("GET", f"/api/v1/nodes/{NODE}")
        node["status"] = {
            "addresses": [{"type": "InternalIP", "address": self.node_ip}, {"type": "Hostname", "address": NODE}]
        }
        self.c.call("PUT", f"/api/v1/nodes/{NODE}/status", node)

    def namespace(self, name: str, labels: Mapping[str, str]) -> None:
        want = {**labels, "kubernetes.io/metadata.name": name}
        if self.ns_labels.get(name) == want:
            return
        status, ns = self.c.request("GET", f"/api/v1/namespaces/{name}")
        if status == 404:
            self.c.call(
                "POST",
                "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": want}},
            )
        else:
            ns["metadata"]["labels"] = want
            self.c.call("PUT", f"/api/v1/namespaces/{name}", ns)
        if name not in self.ns_labels:  # no controller-manager: pods need the default ServiceAccount made
            st, data = self.c.request(
                "POST",
                f"/api/v1/namespaces/{name}/serviceaccounts",
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
            )
            if st not in (201, 409):
                raise ApiError(st, data, f"default ServiceAccount in {name}")
        self.ns_labels[name] = want

    def pod(
        self, key: str, ns: str, name: str, labels: Mapping[str, str], ip: str, ports: Sequence[Mapping[str, Any]] = ()
    ) -> None:
        """ports: the container's declared ports (`{name, containerPort}`), for named-port rules."""
        have = self.pods.get(key)
        if have == (ns, name, dict(labels), ip):
            return
        base = f"/api/v1/namespaces/{ns}/pods"
        if have is not None:  # labels changed: relabel in place
            pod = self.c.call("GET", f"{base}/{name}")
            pod["metadata"]["labels"] = dict(labels)
            self.c.call("PUT", f"{base}/{name}", pod)
        else:
            pod = self.c.call(
                "POST",
                base,
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
                    "spec": {
                        "nodeName": NODE,
                        "automountServiceAccountToken": False,
                        "containers": [
                            {"name": "server", "image": "epnp.invalid/none", "ports": [dict(p) for p in ports]}
                        ],
                    },
                },
            )
            pod["status"] = {
                "phase": "Running",
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "hostIP": self.node_ip,
                "hostIPs": [{"ip": self.node_ip}],
                "conditions": [{"type": "Ready", "status": "True"}],
            }
            self.c.call("PUT", f"{base}/{name}/status", pod)
        self.pods[key] = (ns, name, dict(labels), ip)

    def delete_pod(self, key: str) -> None:
        ns, name, _, _ = self.pods.pop(key)
        self.c.request("DELETE", f"/api/v1/namespaces/{ns}/pods/{name}", query={"gracePeriodSeconds": "0"})

    def apply_policies(self, objs: Sequence[Obj], keep: Callable[[Obj], bool] = lambda o: False) -> int:
        """Make the server's NetworkPolicies exactly `objs` (except those `keep` spares); only
        what changed is written. Returns the number of writes."""
        want = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objs}
        have = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in self.c.network_policies()}
        writes = 0
        for key, p in have.items():
            if key not in want and not keep(p):
                self.c.call("DELETE", f"/apis/networking.k8s.io/v1/namespaces/{key[0]}/networkpolicies/{key[1]}")
                writes += 1
        todo = []
        for key, o in want.items():
            digest = _h(o)
            old = have.get(key)
            if old is not None and (old["metadata"].get("annotations") or {}).get(MANAGED) == digest:
                continue
            body = json.loads(json.dumps(o))
            body["metadata"].setdefault("annotations", {})[MANAGED] = digest
            self.namespace(key[0], self.ns_labels.get(key[0], {}))
            if old is not None:
                body["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            todo.append((key, body, old is None))

        def write(item: tuple[tuple[str, str], Obj, bool]) -> None:
            (ns, name), body, new = item
            if new:
                self.c.create(body)
            else:
                self.c.call("PUT", f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/{name}", body)

        parallel(write, todo)
        return writes + len(todo)
