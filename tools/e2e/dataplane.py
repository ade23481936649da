"""The chart's policies enforced by a real NetworkPolicy dataplane (kube-router), probed with real
TCP and UDP connections, and compared with the documented flows and nca's on the same fixture.

    python -m tools.e2e.dataplane [--values my-env.yaml]     # `make dataplane [VALUES=...]`

For each case (a values file): render the chart, build the fixture the nca check builds
(tools.expected.cluster_for), place every fixture pod and every named block of the outside world
in the lab (tools/e2e/lab.py) as a Pod the API server knows, apply only what changed, wait until
kube-router enforces it (a canary policy flips), and probe every source -> destination:port.
Three answers per probe: documented (tools.expected.Model: facts + values), nca (the same
analysis `make verify` runs) and the dataplane; any disagreement names the probe and who disagrees.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tools.connectivity.batch import render_many, validate_values
from tools.connectivity.cluster import Cluster, Workload
from tools.connectivity.engine import Result, Scenario, analyze
from tools.connectivity.intervals import IpAtom, cidr_intervals, contains, ip_peer_intervals
from tools.connectivity.layout import dns_service
from tools.connectivity.model import Model, selector_matches
from tools.e2e.client import ApiError, Client
from tools.e2e.lab import Host, Lab, LabError
from tools.paths import BIN, CHART, HELM, MAX_VALUES
from tools.values import effective_values

Obj = dict[str, Any]
Values = dict[str, Any]

NODE = "epnp-lab-node"
SERVICE_RANGE = "100.127.255.0/24"  # bookkeeping only: no Service traffic in the lab
# Pod address ranges, the first that no CIDR of the case's policies touches (an ipBlock matching a pod
# address is left to the implementation by the API; kube-router matches it, nca's model does not).
POD_RANGES = ("100.64.0.0/16", "100.96.0.0/16", "198.18.0.0/16", "172.31.0.0/16", "10.244.0.0/16")
# Outside addresses picked first when their block allows (documentation ranges, RFC 5737).
OUTSIDE_FIRST = ("203.0.113.10", "198.51.100.10", "192.0.2.10")
UNUSABLE = tuple(ipaddress.ip_network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3"))
# Ports no policy mentions (the first few not mentioned by the case are probed), per protocol.
CONTROL_PORTS = {"tcp": (2, 1234, 4444, 31337, 50000), "udp": (1053, 5354)}
CANARY_NS = "epnp-canary"
CANARY_PORTS = (1111, 2222)
MANAGED = "epnp.lab/applied"  # annotation: hash of what the lab applied, so an unchanged object is skipped
SETTLE_S = 1.0  # a disagreement must persist this long (pod informer lag: ms) before it counts


# ---------------------------------------------------------------- cases


@dataclass
class Case:
    id: str
    values: Values  # the user's overrides of the chart's values.yaml
    chart: Path = CHART


def _set(values: Values, dotted: str, value: Any) -> Values:
    out: Values = json.loads(json.dumps(values))
    node = out
    *parents, leaf = dotted.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value
    return out


def coverage_cases(chart: Path = CHART) -> list[Case]:
    """Issue 8 item 5: defaults; + deny-all and metrics; each documented group off (deny-all on,
    acknowledged); the operators and EP in other namespaces; OpenShift; each worked example; max."""
    from tools.connectivity.matrix import GROUP_SWITCHES, LAYOUTS

    deny: Values = {"denyAllIngress": {"enabled": True}}
    metrics: Values = {**deny, "flink": {"metrics": {"enabled": True, "port": 9250}}}
    cases = [Case("defaults", {}, chart), Case("defaults+deny-all+metrics", metrics, chart)]
    for sw in GROUP_SWITCHES:
        v = _set(_set(deny, sw, False), "acknowledge.denyAllWithoutProductPolicies", True)
        cases.append(Case(f"deny-all, {sw.removesuffix('.enabled')} off", v, chart))
    split = json.loads(json.dumps(LAYOUTS["split"]))
    default_dep = effective_values()["flink"]["deployments"][0]
    split["flink"]["deployments"] = [{**default_dep, **d} for d in split["flink"]["deployments"]]
    split["eventProcessing"]["instance"] = {"namespace": "ep"}
    cases.append(
        Case(
            "operators and EP in other namespaces",
            {**split, **metrics, "flink": {**split["flink"], **metrics["flink"]}},
            chart,
        )
    )
    cases.append(Case("platform openshift", {**deny, "platform": "openshift"}, chart))
    for f in sorted((chart / "examples").glob("*.yaml")):
        cases.append(Case(f"example {f.stem}", yaml.safe_load(f.read_text()) or {}, chart))
    mx = yaml.safe_load(MAX_VALUES.read_text())
    cases.append(Case("max config (page-fixed ports kept)", page_fixed_ports(mx), chart))
    return cases


def page_fixed_ports(values: Values) -> Values:
    """values with every port the page fixes put back to the page's number (the chart's default).
    Decision customisable-ports: the documented model follows only the ports the page lets a user
    move (facts `valuesKey`), so a moved EP or operator port is reported as undocumented, by design
    (tests/connectivity/test_verify.py checks max.yaml fails on exactly those)."""
    from tools.connectivity.documented import port_keys

    movable = set(port_keys().values())
    out: Values = json.loads(json.dumps(values))

    def walk(node: Any, default: Any, path: str) -> None:
        if not isinstance(node, dict) or not isinstance(default, dict):
            return
        for k, v in node.items():
            dotted = f"{path}{k}"
            if (
                isinstance(v, int)
                and not isinstance(v, bool)
                and dotted not in movable
                and (k == "webhookPort" or path.endswith(("ports.", "ServicePort.")))
                and k in default
            ):
                node[k] = default[k]
            walk(v, default.get(k), dotted + ".")

    for group in ("eventProcessing", "flink.operator"):
        node, default = out, effective_values()
        for part in group.split("."):
            node, default = node.get(part, {}), default.get(part, {})
        walk(node, default, group + ".")
    return out


# ---------------------------------------------------------------- probes and answers


@dataclass(frozen=True, order=True)
class Probe:
    src: str  # workload or outside block names
    dst: str
    port: int
    proto: str  # "tcp" | "udp"

    def __str__(self) -> str:
        return f"{self.src} -> {self.dst}:{self.port}{'/udp' if self.proto == 'udp' else ''}"


@dataclass
class Answer:
    probe: Probe
    documented: bool
    nca: bool
    dataplane: bool
    why: str = ""  # documented ("") or "extra, from <values key>" (the values' own rules)
    note: str = ""  # why a difference is not counted (implementation-defined), when it is not

    @property
    def disagree(self) -> str:
        """'' when all three agree, else which of them stand apart."""
        if self.note:
            return ""
        trio = {"documented": self.documented, "nca": self.nca, "dataplane": self.dataplane}
        if len(set(trio.values())) == 1:
            return ""
        odd = [k for k, v in trio.items() if list(trio.values()).count(v) == 1]
        return (
            f"{odd[0]} says {'allowed' if trio[odd[0]] else 'denied'}, "
            f"{' and '.join(k for k in trio if k != odd[0])} say {'denied' if trio[odd[0]] else 'allowed'}"
        )


@dataclass
class CaseReport:
    case: Case
    answers: list[Answer]
    cluster: Cluster
    seconds: float = 0.0
    sync_ms: float = 0.0
    applied: int = 0
    phases: dict[str, float] = field(default_factory=dict)  # seconds: place, apply, sync, probe+compare, probe

    @property
    def undocumented_allowed(self) -> list[Answer]:
        return [a for a in self.answers if a.dataplane and not a.documented and not a.note]

    @property
    def documented_blocked(self) -> list[Answer]:
        return [a for a in self.answers if a.documented and not a.dataplane and not a.note]

    @property
    def disagreements(self) -> list[Answer]:
        return [a for a in self.answers if a.disagree]


def policy_ports(objs: Iterable[Obj]) -> dict[str, set[int]]:
    """Numeric ports the policies mention, per protocol: each port, a range's ends, middle and
    the port after it."""
    out: dict[str, set[int]] = {"tcp": set(), "udp": set()}
    for o in objs:
        for direction in ("ingress", "egress"):
            for rule in o.get("spec", {}).get(direction) or []:
                for p in rule.get("ports") or []:
                    port, proto = p.get("port"), (p.get("protocol") or "TCP").lower()
                    if not isinstance(port, int) or proto not in out:
                        continue
                    end = p.get("endPort")
                    out[proto] |= {port} if end is None else {port, (port + end) // 2, end, end + 1}
    return out


def probe_ports(objs: Sequence[Obj], values: Values, model: Model) -> dict[str, list[int]]:
    """Every port a policy or a documented grant mentions (ranges by their ends), DNS's, and a few
    no policy mentions."""
    ports = policy_ports(objs)
    for grants in (*model.ingress.values(), *model.egress.values()):
        for g in grants:
            if g.protocol.lower() in ports:
                for lo, hi in g.ports:
                    ports[g.protocol.lower()] |= set(range(lo, hi + 1)) if hi - lo < 4 else {lo, hi}
    dns_ports = set(dns_service(values)[2])
    ports["udp"] |= dns_ports
    ports["tcp"] |= dns_ports
    for proto, control in CONTROL_PORTS.items():
        ports[proto] |= set([p for p in control if p not in ports[proto]][:3])
    ports["tcp"].discard(0)
    return {k: sorted(v) for k, v in ports.items()}


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


class NcaIndex:
    """Is a probe allowed in nca's answer? Pods by name, the outside by address."""

    def __init__(self, result: Result) -> None:
        self.pods: dict[tuple[str, str], list[Any]] = defaultdict(list)
        self.ips: list[tuple[Any, tuple[tuple[int, int], ...], bool]] = []  # (conn, addresses, address is src)
        for c in result.conns:
            if c.src.startswith("ip:"):
                self.ips.append((c, ip_peer_intervals(c.src), True))
            elif c.dst.startswith("ip:"):
                self.ips.append((c, ip_peer_intervals(c.dst), False))
            else:
                self.pods[(c.src, c.dst)].append(c)

    def ports(self, src: str, dst: str, proto: str, src_ip: int | None, dst_ip: int | None) -> list[tuple[int, int]]:
        """The port intervals nca allows from src to dst (an outside block by its address)."""
        number = 6 if proto == "tcp" else 17
        if src_ip is None and dst_ip is None:
            conns = self.pods.get((src, dst), [])
        elif src_ip is not None:
            conns = [c for c, ivs, is_src in self.ips if is_src and c.dst == dst and contains(ivs, src_ip)]
        else:
            assert dst_ip is not None
            conns = [c for c, ivs, is_src in self.ips if not is_src and c.src == src and contains(ivs, dst_ip)]
        return [iv for c in conns if c.allows_protocol(number) for iv in (c.ports or ((0, 65535),))]


class PodAddressModel(Model):
    """The documented model with the values' ipBlocks also matching pod addresses, as kube-router
    does (the API leaves it to the implementation). Only used to explain a difference, never to
    accept one that the strict model does not also produce from the same ipBlock."""

    def __init__(self, values: Values, cluster: Cluster, pod_ips: Mapping[str, int]) -> None:
        self.pod_ips = pod_ips
        super().__init__(values, cluster)

    def k8s_peer(self, peer: Mapping[str, Any], policy_ns: str) -> Callable[[Workload], bool]:
        base = super().k8s_peer(peer, policy_ns)
        if "ipBlock" not in peer:
            return base
        ivs = cidr_intervals(peer["ipBlock"]["cidr"], peer["ipBlock"].get("except") or [])
        return lambda w: base(w) or (w.name in self.pod_ips and contains(ivs, self.pod_ips[w.name]))


# Upstream defects the lab meets in the chart's renders (each has a test reproducing it alone, in
# tests/e2e/test_dataplane.py); a disagreement is only ever excused by one of these, named.
KR_UNRESOLVED_NAMED_PORT = (
    "kube-router v2.1.0 bug: a rule whose ports are all names that no pod it applies to declares "
    "matches EVERY port (pkg/controllers/netpol/policy.go, processIngressRules/processEgressRules: "
    "`len(rule.ports) == 0 && len(rule.namedPorts) == 0` is taken for a rule without ports)"
)


def kube_router_explains(a: Answer, objs: Sequence[Obj], model: Model, by_name: Mapping[str, Workload]) -> str:
    """The named upstream defect that makes kube-router allow what the API denies, or ''. The lab's
    pods declare no container ports, so every named port is unresolved."""
    if not a.dataplane or a.documented:
        return ""
    s, d = by_name[a.probe.src], by_name[a.probe.dst]
    for o in objs:
        spec, ns = o["spec"], o["metadata"]["namespace"]
        for direction, side, me, peer in (("ingress", "from", d, s), ("egress", "to", s, d)):
            if me.is_outside or me.namespace != ns or not selector_matches(spec.get("podSelector"), me.labels):
                continue
            for rule in spec.get(direction) or []:
                ports = rule.get("ports") or []
                if not ports or not all(isinstance(p.get("port"), str) for p in ports):
                    continue
                peers = rule.get(side) or []
                if direction == "egress" and not peers:
                    continue  # no `to`: the name resolves to nothing, so nothing is opened
                if not peers or any(model.k8s_peer(p, ns)(peer) for p in peers):
                    return KR_UNRESOLVED_NAMED_PORT
    return ""


def _allowed(grants: Sequence[tuple[Sequence[tuple[int, int]], str]], port: int) -> tuple[bool, str]:
    """Is port in one of Model.allowed's grants, and why (documented "" first)."""
    whys = [why for ivs, why in grants if any(lo <= port <= hi for lo, hi in ivs)]
    if not whys:
        return False, ""
    return True, "" if "" in whys else whys[0]


# ---------------------------------------------------------------- the API objects of the fixture


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


# ---------------------------------------------------------------- the dataplane


def in_canary_namespace(obj: Obj) -> bool:
    return bool(obj["metadata"]["namespace"] == CANARY_NS)


class Dataplane:
    """A lab with kube-router enforcing, the fixture placed case by case."""

    def __init__(self, lab: Lab) -> None:
        assert lab.cp is not None
        self.lab = lab
        self.kube = Kube(lab.cp.client, lab.node_ip)
        self.served: dict[str, tuple[set[int], set[int]]] = {}
        self.latencies: list[float] = []
        self._canary = 0

    @classmethod
    def start(cls, pod_cidr: str = POD_RANGES[0]) -> Dataplane:
        lab = Lab.start(pod_cidr)
        try:
            dp = cls(lab)
            dp._start()
        except BaseException:
            lab.stop()
            raise
        return dp

    def _start(self) -> None:
        lab, cp = self.lab, self.lab.cp
        assert cp is not None
        self.kube.create_node()
        lab.spawn(
            "kube-router",
            [
                "ip",
                "netns",
                "exec",
                lab.node,
                str(BIN / "kube-router"),
                f"--kubeconfig={cp.kubeconfig}",
                f"--hostname-override={NODE}",
                "--run-firewall=true",
                "--run-router=false",
                "--run-service-proxy=false",
                f"--service-cluster-ip-range={SERVICE_RANGE}",
                "--health-port=0",
                "--metrics-port=0",
                "-v=1",
            ],
            env={"NODE_NAME": NODE, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
        # the canary: a pod whose policy the lab flips to tell when kube-router has caught up
        self.kube.namespace(CANARY_NS, {})
        canary, client = lab.add_hosts([("canary", None), ("canary-client", None)])
        lab.agent.serve(canary, "canary", CANARY_PORTS, [])
        self.kube.pod("canary", CANARY_NS, "canary", {"app": "canary"}, canary.ip)
        self.canary, self.canary_client = canary, client
        self.sync(timeout=60)

    def stop(self) -> None:
        self.lab.stop()

    def __enter__(self) -> Dataplane:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def helm(self, *args: str) -> str:
        """helm (v4) against the lab's API server, from inside the node namespace (inherited)."""
        assert self.lab.cp is not None
        home = self.lab.dir / "helm"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBE"))}
        env.update(
            KUBECONFIG=str(self.lab.cp.kubeconfig),
            HELM_CONFIG_HOME=str(home / "config"),
            HELM_CACHE_HOME=str(home / "cache"),
            HELM_DATA_HOME=str(home / "data"),
        )
        proc = subprocess.run([str(HELM), *args], env=env, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise LabError(f"helm {' '.join(args)}:\n{proc.stderr}")
        return proc.stdout

    # ---------------------------------------------------------------- sync
    def _canary_policy(self, port: int) -> Obj:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "canary", "namespace": CANARY_NS},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [{"ipBlock": {"cidr": f"{self.canary_client.ip}/32"}}], "ports": [{"port": port}]}
                ],
            },
        }

    def sync(self, timeout: float = 20) -> float:
        """Flip the canary's open port and wait until kube-router enforces the flip: everything
        written to the API server before it is enforced too (one watch stream, in order).
        Returns the seconds from the write to the enforcement."""
        self._canary += 1
        new, old = CANARY_PORTS[self._canary % 2], CANARY_PORTS[(self._canary + 1) % 2]
        c = self.kube.c
        path = f"/apis/networking.k8s.io/v1/namespaces/{CANARY_NS}/networkpolicies/canary"
        status, cur = c.request("GET", path)
        body = self._canary_policy(new)
        t0 = time.perf_counter()
        if status == 404:
            c.create(body)
        else:
            body["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
            c.call("PUT", path, body)
        t0 = time.perf_counter()
        want = ["canary", "refused"]
        got: list[str] = []
        while time.perf_counter() - t0 < timeout:
            got = self.lab.agent.probe(
                [
                    (self.canary_client.netns, self.canary.ip, new, "tcp"),
                    (self.canary_client.netns, self.canary.ip, old, "tcp"),
                ],
                0.5,
            )
            if got == want:
                dt = time.perf_counter() - t0
                self.latencies.append(dt)
                return dt
            time.sleep(0.005)
        raise LabError(
            f"kube-router did not enforce the canary within {timeout}s (probes: {got})\n"
            + self.lab.log_tail("kube-router")
        )

    # ---------------------------------------------------------------- fixture placement
    def place(self, cluster: Cluster, objs: Sequence[Obj], ports: Mapping[str, Sequence[int]]) -> dict[str, Host]:
        """Hosts (pods and outside blocks) for this case's fixture; returns workload name -> host."""
        lab, kube = self.lab, self.kube
        pod_net = ipaddress.IPv4Network(lab.pod_cidr)
        want: dict[str, tuple[str, Workload | IpAtom]] = {}  # host key -> (workload name, what)
        for w in cluster.workloads:
            want[f"pod:{w.namespace}/{w.name}"] = (w.name, w)
        for atom in cluster.ips:  # the name is in the key: a host answers with the name it was made for
            want[f"ip:{outside_address(atom, [pod_net])}={atom.name}"] = (atom.name, atom)
        stale = [k for k in lab.hosts if k.startswith(("pod:", "ip:")) and k not in want]
        parallel(kube.delete_pod, [k for k in stale if k in kube.pods])
        for k in stale:
            self.served.pop(k, None)
        lab.remove_hosts(stale)
        lab.add_hosts(
            [
                (k, k.removeprefix("ip:").split("=")[0] if k.startswith("ip:") else None)
                for k in want
                if k not in lab.hosts
            ]
        )
        for name, labels in cluster.namespaces.items():
            kube.namespace(name, labels)
        for o in objs:
            kube.namespace(o["metadata"]["namespace"], cluster.namespaces.get(o["metadata"]["namespace"], {}))
        out: dict[str, Host] = {}
        parallel(
            lambda kw: kube.pod(kw[0], kw[1].namespace, kw[1].name, kw[1].labels, lab.hosts[kw[0]].ip),
            [(k, what) for k, (_, what) in want.items() if isinstance(what, Workload)],
        )
        for k, (name, _what) in want.items():
            host = lab.hosts[k]
            out[name] = host
            tcp, udp = self.served.get(k, (set(), set()))
            more_tcp, more_udp = set(ports["tcp"]) - tcp, set(ports["udp"]) - udp
            if more_tcp or more_udp or k not in self.served:
                lab.agent.call(
                    {
                        "op": "serve",
                        "netns": host.netns,
                        "name": name,
                        "ip": host.ip,
                        "tcp": sorted(more_tcp),
                        "udp": sorted(more_udp),
                    }
                )
                self.served[k] = (tcp | more_tcp, udp | more_udp)
        return out

    # ---------------------------------------------------------------- one case
    def run_case(
        self,
        case: Case,
        objs: Sequence[Obj],
        cluster: Cluster,
        nca: Result,
        apply: Callable[[], int] | None = None,
        also_ports_of: Sequence[Obj] = (),
    ) -> CaseReport:
        """Place the fixture, apply the policies (or run `apply`, e.g. a helm command, returning the
        number of writes), sync, probe (also on the ports `also_ports_of` mention)."""
        t0 = time.perf_counter()
        phases: dict[str, float] = {}

        def phase(name: str) -> None:
            phases[name] = time.perf_counter() - t0 - sum(phases.values())

        values = effective_values(case.values)
        model = Model(values, cluster)
        ports = probe_ports([*objs, *also_ports_of], values, model)
        hosts = self.place(cluster, objs, ports)
        phase("place")
        writes = apply() if apply else self.kube.apply_policies(objs, keep=in_canary_namespace)
        phase("apply")
        sync = self.sync()
        phase("sync")
        probe_s = self.lab.agent.probe_seconds
        answers = self.probe_case(values, cluster, hosts, ports, model, nca, objs)
        phase("probe+compare")
        phases["probe"] = self.lab.agent.probe_seconds - probe_s
        return CaseReport(case, answers, cluster, time.perf_counter() - t0, sync * 1000, writes, phases=phases)

    def probe_case(
        self,
        values: Values,
        cluster: Cluster,
        hosts: Mapping[str, Host],
        ports: Mapping[str, Sequence[int]],
        model: Model,
        nca: Result,
        objs: Sequence[Obj] = (),
    ) -> list[Answer]:
        every = cluster.all_workloads()
        ip_of = {n: int(ipaddress.IPv4Address(h.ip)) for n, h in hosts.items()}
        pod_ips = {w.name: ip_of[w.name] for w in cluster.workloads}
        loose = PodAddressModel(values, cluster, pod_ips)
        index = NcaIndex(nca)
        probes = [
            Probe(s.name, d.name, port, proto)
            for s in every
            for d in every
            if s.name != d.name and not (s.is_outside and d.is_outside)
            for proto in ("tcp", "udp")
            for port in ports[proto]
        ]
        raw = self._dataplane(probes, hosts)
        by_name = {w.name: w for w in every}
        answers = []
        pair: dict[tuple[str, str, str], tuple[Any, Any, Any]] = {}  # each model asked once per pair
        for p, dp in zip(probes, raw, strict=True):
            s, d = by_name[p.src], by_name[p.dst]
            key = (p.src, p.dst, p.proto)
            if key not in pair:
                pair[key] = (
                    model.allowed(s, d, p.proto.upper()),
                    loose.allowed(s, d, p.proto.upper()),
                    index.ports(
                        p.src,
                        p.dst,
                        p.proto,
                        ip_of[p.src] if s.is_outside else None,
                        ip_of[p.dst] if d.is_outside else None,
                    ),
                )
            strict, lenient, nca_ivs = pair[key]
            doc, why = _allowed(strict, p.port)
            alt, _ = _allowed(lenient, p.port)
            got = any(lo <= p.port <= hi for lo, hi in nca_ivs)
            note = ""
            if alt != doc and dp == alt:
                note = "an ipBlock of the values covers a pod address: matching pod IPs is implementation-defined"
            answers.append(Answer(p, doc, got, dp, why, note))
        for a in answers:
            if not a.note:
                a.note = kube_router_explains(a, objs, model, by_name)
        self._settle(answers, hosts)
        return answers

    def _settle(self, answers: list[Answer], hosts: Mapping[str, Host]) -> None:
        # a disagreement must persist: pods are watched on another stream than policies
        deadline = time.perf_counter() + SETTLE_S
        while (
            odd := [a for a in answers if a.dataplane != a.documented and not a.note]
        ) and time.perf_counter() < deadline:
            time.sleep(0.2)
            for a, dp in zip(odd, self._dataplane([a.probe for a in odd], hosts), strict=True):
                a.dataplane = dp

    def _dataplane(self, probes: Sequence[Probe], hosts: Mapping[str, Host]) -> list[bool]:
        raw = self.lab.agent.probe([(hosts[p.src].netns, hosts[p.dst].ip, p.port, p.proto) for p in probes], 1.0)
        out = []
        dead = []
        for p, r in zip(probes, raw, strict=True):
            if r == p.dst:
                out.append(True)
            elif r in ("refused", "timeout"):
                out.append(False)
                dead.append(p)
            else:
                raise LabError(f"probe {p}: unexpected answer {r!r}")
        # a denial and a dead server both read "refused": the node itself is always let through
        if dead:
            seen = sorted({(p.dst, p.port, p.proto) for p in dead})
            check = self.lab.agent.probe([(None, hosts[d].ip, port, proto) for d, port, proto in seen], 1.0)
            broken = [f"{d}:{port}/{proto}: {r}" for (d, port, proto), r in zip(seen, check, strict=True) if r != d]
            if broken:
                raise LabError("servers not answering the node: " + ", ".join(broken[:10]))
        return out


# ---------------------------------------------------------------- running cases


@dataclass
class Prepared:
    case: Case
    objs: list[Obj]
    cluster: Cluster


def prepare(cases: Sequence[Case]) -> tuple[list[Prepared], Future[list[Result]], ThreadPoolExecutor]:
    """Render every case (one helm process per chart), build the fixtures, and start nca on all of
    them in the background (it needs no network: it runs while the lab starts)."""
    by_chart: dict[Path, list[int]] = defaultdict(list)
    for i, c in enumerate(cases):
        by_chart[c.chart].append(i)
    rendered: list[list[Obj]] = [[] for _ in cases]
    for chart, idx in by_chart.items():
        vals = [cases[i].values for i in idx]
        validate_values(vals, chart)
        for i, objs in zip(idx, render_many(vals, chart, HELM), strict=True):
            rendered[i] = [o for o in objs if o.get("kind") == "NetworkPolicy"]
    prepared = [Prepared(c, objs, _cluster(c)) for c, objs in zip(cases, rendered, strict=True)]
    pool = ThreadPoolExecutor(1)
    fut = pool.submit(analyze, [Scenario(p.objs, p.cluster, p.case.id) for p in prepared])
    return prepared, fut, pool


def _cluster(case: Case) -> Cluster:
    from tools.connectivity.cluster import cluster_for

    return cluster_for(effective_values(case.values))


def run_cases(
    cases: Sequence[Case], dp: Dataplane | None = None, on_report: Callable[[CaseReport], None] | None = None
) -> list[CaseReport]:
    prepared, nca_future, pool = prepare(cases)
    own = dp is None
    try:
        if dp is None:
            dp = Dataplane.start(choose_pod_range(o for p in prepared for o in p.objs))
        results = nca_future.result()
        reports = []
        for p, res in zip(prepared, results, strict=True):
            rep = dp.run_case(p.case, p.objs, p.cluster, res)
            reports.append(rep)
            if on_report:
                on_report(rep)
        return reports
    finally:
        pool.shutdown()
        if own and dp is not None:
            dp.stop()


# ---------------------------------------------------------------- what users see


def truth_table(rep: CaseReport) -> str:
    """Per destination, sources as rows and destination:port as columns: `+` allowed, `.` denied
    (all three agree), `!` where the dataplane, nca and the page disagree, `~` an implementation-
    defined difference (listed below the table)."""
    by_dst: dict[str, list[Answer]] = defaultdict(list)
    for a in rep.answers:
        by_dst[a.probe.dst].append(a)
    order = [w.name for w in rep.cluster.all_workloads()]
    lines = [
        f"== {rep.case.id}: sources down the side, destination ports across (read downwards; /u: UDP)",
        "   + allowed, . denied (documented, nca and dataplane agree); ! they disagree; ~ implementation-defined",
    ]
    for dst in [d for d in order if d in by_dst]:
        ans = by_dst[dst]
        cols = sorted({(a.probe.proto, a.probe.port) for a in ans}, key=lambda c: (c[0] != "tcp", c[1]))
        srcs = [s for s in order if any(a.probe.src == s for a in ans)]
        cell = {(a.probe.src, a.probe.proto, a.probe.port): a for a in ans}
        heads = [f"{port}" + ("/u" if proto == "udp" else "") for proto, port in cols]
        w = max(len(s) for s in srcs)
        lines.append(f"\n{dst}:")
        # column headers written downwards, so a column stays one character wide
        depth = max(len(h) for h in heads)
        for i in range(depth):
            lines.append(" " * (w + 2) + " ".join(h.rjust(depth)[i] for h in heads))
        for s in srcs:
            marks = []
            for proto, port in cols:
                c = cell.get((s, proto, port))
                marks.append(
                    " " if c is None else "!" if c.disagree else "~" if c.note else "+" if c.dataplane else "."
                )
            lines.append(f"{s.rjust(w)}  {' '.join(marks)}")
    flagged = [a for a in rep.answers if a.disagree]
    if flagged:
        lines.append("\ndisagreements:")
        lines += [f"  {a.probe}: {a.disagree}" for a in sorted(flagged, key=lambda a: a.probe)]
    noted = [a for a in rep.answers if a.note]
    if noted:
        lines.append("\nimplementation-defined (not counted):")
        lines += [
            f"  {a.probe}: dataplane {'allowed' if a.dataplane else 'denied'}; {a.note}"
            for a in sorted(noted, key=lambda a: a.probe)
        ]
    return "\n".join(lines)


def case_line(rep: CaseReport) -> str:
    n = len(rep.answers)
    allowed = sum(a.dataplane for a in rep.answers)
    return (
        f"{rep.case.id}: {n} probes, {allowed} allowed; {len(rep.undocumented_allowed)} undocumented allowed, "
        f"{len(rep.documented_blocked)} documented blocked, {len(rep.disagreements)} disagreements "
        f"(applied {rep.applied} objects, enforced in {rep.sync_ms:.0f} ms, case {rep.seconds:.1f} s)"
    )


def summary(reports: Sequence[CaseReport]) -> str:
    n = sum(len(r.answers) for r in reports)
    u = sum(len(r.undocumented_allowed) for r in reports)
    b = sum(len(r.documented_blocked) for r in reports)
    return f"dataplane: {n} probes over {len(reports)} cases: {u} undocumented allowed, {b} documented blocked"


def disagreement_text(reports: Sequence[CaseReport]) -> str:
    """`case: src -> dst: ports: who disagrees`, one line per pair and kind of disagreement."""
    lines = []
    for r in reports:
        grouped: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for a in sorted(r.disagreements, key=lambda a: (a.probe.proto, a.probe.port)):
            port = f"{a.probe.port}{'/udp' if a.probe.proto == 'udp' else ''}"
            grouped[(a.probe.src, a.probe.dst, a.disagree)].append(port)
        lines += [
            f"{r.case.id}: {s} -> {d}: {','.join(ports)}: {why}" for (s, d, why), ports in sorted(grouped.items())
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--values", type=Path, help="one values file (as for helm --values); default: every coverage case")
    ap.add_argument(
        "--tables",
        choices=("first", "all", "none"),
        default="first",
        help="truth tables to print (default: the first case's, and every case with a disagreement)",
    )
    args = ap.parse_args(argv)
    cases = [Case(str(args.values), yaml.safe_load(args.values.read_text()) or {})] if args.values else coverage_cases()
    t0 = time.perf_counter()
    printed = 0

    def show(rep: CaseReport) -> None:
        nonlocal printed
        if args.tables == "all" or (args.tables == "first" and printed == 0) or rep.disagreements:
            print(truth_table(rep) + "\n", flush=True)
            printed += 1
        print(case_line(rep), flush=True)

    reports = run_cases(cases, on_report=show)
    probes = sum(len(r.answers) for r in reports)
    lat = [r.sync_ms for r in reports]
    print(
        f"\n{probes} probes, {time.perf_counter() - t0:.1f} s in all; enforcement after a change: "
        f"median {statistics.median(lat):.0f} ms, max {max(lat):.0f} ms"
    )
    nca_off = sum(1 for r in reports for a in r.answers if not a.note and a.nca != a.dataplane)
    print(f"nca disagrees with the dataplane on {nca_off} probes")
    print(summary(reports))
    return 1 if any(r.disagreements for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
