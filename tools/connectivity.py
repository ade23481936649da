"""Connectivity engine: what a set of NetworkPolicies lets through, computed by network-config-analyzer.

We do not re-implement NetworkPolicy semantics: `tools/nca_driver.py` runs nca (in its own venv, since it
pins its dependencies) over a whole batch of scenarios in ONE process, and this module (harness venv,
stdlib + pyyaml) builds the fixture cluster, ships the batch, and turns nca's answer into flows to diff.
"""
from __future__ import annotations

import copy
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.paths import CACHE

Labels = Mapping[str, str]
Port = int | str  # an int, "*" (every port of the protocol) or "lo-hi" (a range that is neither)
ANY_PORT = "*"
PROTOCOL_NUMBERS = {"TCP": 6, "UDP": 17, "SCTP": 132}

DRIVER = Path(__file__).with_name("nca_driver.py")


def nca_python() -> Path:
    """The nca venv's interpreter ($EPNP_CACHE/venv-nca, made by `make tools`); EPNP_NCA_PYTHON overrides."""
    return Path(os.environ.get("EPNP_NCA_PYTHON") or CACHE / "venv-nca" / "bin" / "python")


# ---------------------------------------------------------------- fixture cluster

@dataclass(frozen=True)
class Workload:
    """One pod of the fixture (each pod is its own workload so flows name it exactly).
    group: which placement group it belongs to (GROUPS, or unrelated/other-namespace/outside);
    kinds: the facts file's workload keys it is an instance of (flink, flink-jobmanager, ...);
    cell: which EP instance or Flink deployment it belongs to ("any pod in the instance")."""
    name: str
    namespace: str
    labels: Labels = field(default_factory=dict, hash=False, compare=False)
    group: str = ""
    kinds: frozenset[str] = frozenset()
    cell: str = ""

    @property
    def is_outside(self) -> bool:
        """An address outside the cluster (the whole outside world, or a named block of it)."""
        return self.group in ("outside", "ip")


# The outside world: nca models every address outside the cluster as the IP block 0.0.0.0/0 (IPv6 is
# left out, as nca does by default); an ingress rule without `from` admits it, a podSelector does not.
OUTSIDE = Workload("outside", "", {}, "outside")
OUTSIDE_PEER = "ip:0.0.0.0/0"

# Pod labels keyed like the facts file's `workloads` (tools/facts/network-policies.yaml), transcribed
# from the spec page's YAML and the issue; the matrix passes the facts' own via `labels=`.
DEFAULT_LABELS: dict[str, dict[str, str]] = {
    "ep-operator": {"app.kubernetes.io/name": "ibm-event-processing",
                    "app.kubernetes.io/instance": "ibm-ep-operator"},
    "ep-instance": {"app.kubernetes.io/component": "ibm-ep",
                    "app.kubernetes.io/managed-by": "ibm-ep-operator"},  # + app.kubernetes.io/instance
    "flink-operator": {"app.kubernetes.io/instance": "ibm-eventautomation-flink-operator",
                       "app.kubernetes.io/name": "flink-kubernetes-operator",
                       "name": "ibm-eventautomation-flink-operator"},
    "flink-jobmanager": {"app.kubernetes.io/instance": "ibm-eventautomation-flink",
                         "app.kubernetes.io/managed-by": "ibm-eventautomation-flink-operator",
                         "app.kubernetes.io/name": "ibm-eventautomation-flink", "component": "jobmanager"},
    "flink-taskmanager": {"app.kubernetes.io/instance": "ibm-eventautomation-flink",
                          "app.kubernetes.io/managed-by": "ibm-eventautomation-flink-operator",
                          "app.kubernetes.io/name": "ibm-eventautomation-flink", "component": "taskmanager"},
}
GROUPS = ("ep-operator", "ep-instance", "flink-operator", "flink-deployment")
UNRELATED_LABELS = {"app": "unrelated"}


# ---------------------------------------------------------------- the outside world as named IP blocks

IPV4_LAST = 2 ** 32 - 1
Interval = tuple[int, int]


def cidr_intervals(cidr: str, except_: Iterable[str] = ()) -> tuple[Interval, ...]:
    """IPv4 addresses of an ipBlock as sorted, merged intervals; IPv6 gives none (nca leaves IPv6 out
    by default, and so does the fixture)."""
    net = ipaddress.ip_network(cidr, strict=False)
    if net.version != 4:
        return ()
    out: tuple[Interval, ...] = ((int(net.network_address), int(net.broadcast_address)),)
    for ex in except_:
        out = subtract(out, cidr_intervals(ex))
    return out


def merge_intervals(ivs: Iterable[Interval]) -> tuple[Interval, ...]:
    out: list[list[int]] = []
    for lo, hi in sorted(ivs):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> tuple[Interval, ...]:
    return merge_intervals((max(x[0], y[0]), min(x[1], y[1])) for x in a for y in b if max(x[0], y[0]) <= min(x[1], y[1]))


def subtract(a: Iterable[Interval], b: Iterable[Interval]) -> tuple[Interval, ...]:
    out = list(merge_intervals(a))
    for blo, bhi in merge_intervals(b):
        nxt = []
        for lo, hi in out:
            if bhi < lo or blo > hi:
                nxt.append((lo, hi))
                continue
            if lo < blo:
                nxt.append((lo, blo - 1))
            if bhi < hi:
                nxt.append((bhi + 1, hi))
        out = nxt
    return tuple(out)


def contains(ivs: Iterable[Interval], point: int) -> bool:
    return any(lo <= point <= hi for lo, hi in ivs)


def cidrs_str(ivs: Iterable[Interval]) -> str:
    return ",".join(str(n) for lo, hi in ivs for n in ipaddress.summarize_address_range(
        ipaddress.IPv4Address(lo), ipaddress.IPv4Address(hi)))


def ip_peer_intervals(peer: str) -> tuple[Interval, ...]:
    """nca's IP peer ("ip:10.0.0.0/8,11.0.0.0/16") as intervals."""
    return merge_intervals(iv for c in peer.removeprefix("ip:").split(",") if c.strip()
                           for iv in cidr_intervals(c.strip()))


@dataclass(frozen=True)
class IpAtom:
    """A named part of the outside world: the addresses that fall in the same CIDRs of the values (the
    API server's, Kafka's, an extra rule's), so every policy admits all of it or none of it.
    `outside` is what no CIDR of the values names."""
    name: str
    intervals: tuple[Interval, ...]
    kinds: frozenset[str] = frozenset()

    @property
    def point(self) -> int:  # any address of the atom stands for all of it
        return self.intervals[0][0]

    def workload(self) -> Workload:
        return Workload(self.name, "", {}, "outside" if self.name == OUTSIDE.name else "ip", self.kinds)


WHOLE = IpAtom("outside", ((0, IPV4_LAST),))


def ip_atoms(regions: Sequence[tuple[str, tuple[Interval, ...]]]) -> tuple[IpAtom, ...]:
    """Split the IPv4 space by labelled regions: one atom per set of regions an address falls in."""
    regions = [(label, ivs) for label, ivs in regions if ivs]
    if not regions:
        return (WHOLE,)
    cuts = sorted({0, IPV4_LAST + 1} | {b for _, ivs in regions for lo, hi in ivs for b in (lo, hi + 1)})
    groups: dict[frozenset[int], list[Interval]] = defaultdict(list)
    for lo, nxt in zip(cuts, cuts[1:]):
        groups[frozenset(i for i, (_, ivs) in enumerate(regions) if contains(ivs, lo))].append((lo, nxt - 1))
    named: list[tuple[str, frozenset[str], tuple[Interval, ...]]] = []
    for sig, ivs in groups.items():
        labels = frozenset(regions[i][0] for i in sig)
        named.append(("+".join(sorted(labels)) or OUTSIDE.name, labels, merge_intervals(ivs)))
    counts = defaultdict(int)
    for n, _, _ in named:
        counts[n] += 1
    return tuple(sorted((IpAtom(n if counts[n] == 1 else f"{n}({cidrs_str(ivs[:1])})", ivs, labels)
                         for n, labels, ivs in named), key=lambda a: a.intervals))


@dataclass(frozen=True)
class Cluster:
    namespaces: Mapping[str, Labels]  # name -> labels
    workloads: tuple[Workload, ...]
    ips: tuple[IpAtom, ...] = (WHOLE,)  # the outside world, as named blocks (a partition of IPv4)

    def __post_init__(self) -> None:
        names = [w.name for w in self.workloads]
        names += [a.name for a in self.ips]
        if len(set(names)) != len(names):
            raise ValueError(f"workload and IP block names must be unique: {names}")
        missing = {w.namespace for w in self.workloads} - set(self.namespaces)
        if missing:
            raise ValueError(f"workloads in undeclared namespaces: {sorted(missing)}")

    def workload(self, name: str) -> Workload:
        return next(w for w in self.all_workloads() if w.name == name)

    def all_workloads(self) -> list[Workload]:
        return [*self.workloads, *(a.workload() for a in self.ips)]

    def of_kind(self, kind: str) -> list[Workload]:
        return [w for w in self.workloads if kind in w.kinds]

    def to_json(self) -> dict[str, Any]:
        return {"namespaces": [{"name": n, "labels": dict(lb)} for n, lb in self.namespaces.items()],
                "pods": [{"name": w.name, "namespace": w.namespace, "labels": dict(w.labels)}
                         for w in self.workloads]}


def namespace_labels(name: str, extra: Labels | None = None) -> dict[str, str]:
    # kubernetes.io/metadata.name is set by the API server on every namespace; the chart selects on it
    return {"kubernetes.io/metadata.name": name, **(extra or {})}


def default_cluster(namespaces: Mapping[str, str] | None = None,
                    labels: Mapping[str, Labels] | None = None,
                    ep_instance_names: Sequence[str] = ("my-ep", "my-ep"),
                    default_namespace: str = "ep",
                    other_namespace: str = "elsewhere") -> Cluster:
    """The issue's fixture: EP operator, two EP instance pods, Flink operator, a jobmanager and two
    taskmanagers, an unrelated pod in each namespace used, a pod in another namespace (+ OUTSIDE).
    namespaces: group (GROUPS) -> namespace, default `default_namespace`; labels: facts workload key ->
    pod labels (the EP instance pods add `app.kubernetes.io/instance: <ep_instance_names[i]>`)."""
    ns = {g: default_namespace for g in GROUPS} | dict(namespaces or {})
    lb = DEFAULT_LABELS | dict(labels or {})
    if other_namespace in ns.values():
        raise ValueError(f"other_namespace {other_namespace!r} is one of the groups' namespaces")
    flink = "ibm-eventautomation-flink"
    wl = [Workload("ep-operator", ns["ep-operator"], dict(lb["ep-operator"]), "ep-operator",
                   frozenset({"ep-operator"}))]
    wl += [Workload(f"ep-instance-{i}", ns["ep-instance"],
                    {**lb["ep-instance"], "app.kubernetes.io/instance": inst}, "ep-instance",
                    frozenset({"ep-instance"}), inst)
           for i, inst in enumerate(ep_instance_names, 1)]
    wl.append(Workload("flink-operator", ns["flink-operator"], dict(lb["flink-operator"]), "flink-operator",
                       frozenset({"flink-operator"})))
    wl.append(Workload("jobmanager", ns["flink-deployment"], dict(lb["flink-jobmanager"]), "flink-deployment",
                       frozenset({"flink", "flink-jobmanager"}), flink))
    wl += [Workload(f"taskmanager-{i}", ns["flink-deployment"], dict(lb["flink-taskmanager"]),
                    "flink-deployment", frozenset({"flink", "flink-taskmanager"}), flink) for i in (1, 2)]
    used = list(dict.fromkeys(ns[g] for g in GROUPS))  # ordered, distinct
    wl += [Workload("unrelated" if len(used) == 1 else f"unrelated-{n}", n, UNRELATED_LABELS, "unrelated")
           for n in used]
    wl.append(Workload("other-namespace", other_namespace, UNRELATED_LABELS, "other-namespace"))
    return Cluster({n: namespace_labels(n) for n in [*used, other_namespace]}, tuple(wl))


# ---------------------------------------------------------------- scenarios and results

@dataclass
class Scenario:
    policies: list[dict[str, Any]]
    cluster: Cluster = field(default_factory=default_cluster)
    id: str = ""
    namespace: str = "ep"  # for policies without metadata.namespace (as `kubectl apply -n`)
    dot: bool = False
    dot_dst: Sequence[str] | None = None  # workload names: graph only what reaches them
    base_policies: list[dict[str, Any]] | None = None  # set: semantic diff base -> policies instead

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "dot": self.dot, **self.cluster.to_json(),
                             "policies": self._placed(self.policies)}
        if self.dot_dst is not None:
            wl = {w.name: w for w in self.cluster.workloads}
            d["dot_dst"] = [f"{wl[n].namespace}/{n}" for n in self.dot_dst]
        if self.base_policies is not None:
            d["base_policies"] = self._placed(self.base_policies)
        return d

    def _placed(self, policies: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for pol in policies:
            if not pol.get("metadata", {}).get("namespace"):
                pol = copy.deepcopy(pol)
                pol.setdefault("metadata", {})["namespace"] = self.namespace
            out.append(pol)
        return out


@dataclass(frozen=True)
class Conn:
    """One (src, dst) pair of nca's allowed connections. protocols/ports: None = all;
    other_dims: dimensions restricted beyond protocol and destination port (none for K8s policies)."""
    src: str
    dst: str
    protocols: tuple[tuple[int, int], ...] | None
    ports: tuple[tuple[int, int], ...] | None
    other_dims: tuple[str, ...] = ()

    def allows_protocol(self, number: int) -> bool:
        return self.protocols is None or any(lo <= number <= hi for lo, hi in self.protocols)


@dataclass(frozen=True, order=True)
class Flow:
    src: str
    dst: str
    port: Port

    def __str__(self) -> str:
        return f"{self.src} -> {self.dst} :{self.port}"


@dataclass
class SemanticDiff:
    differs: bool
    text: str


@dataclass
class Result:
    id: str
    conns: list[Conn]
    dot: str | None = None
    diff: SemanticDiff | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    ips: tuple[IpAtom, ...] = (WHOLE,)

    def flows(self, protocol: str = "TCP") -> set[Flow]:
        """Allowed flows of one protocol, one per port (ANY_PORT when every port is open). nca's IP
        blocks become the cluster's named blocks (IpAtom): a flow to all of an atom names the atom; to
        part of it, `atom[cidrs]` (a difference from anything the values can say)."""
        number = PROTOCOL_NUMBERS[protocol]
        ports: dict[tuple[str, str], list[Interval]] = defaultdict(list)
        for c in self.conns:
            if c.other_dims:
                raise ValueError(f"{c}: connection restricted on {c.other_dims}; flows cannot express it")
            if c.allows_protocol(number):
                ports[(c.src, c.dst)] += list(c.ports or ((0, 65535),))
        # per (pod, port, direction): the addresses reached, then split by atom
        pod_flows: set[Flow] = set()
        ip_side: dict[tuple[str, Port, bool], list[Interval]] = defaultdict(list)
        for (src, dst), ivs in ports.items():
            for p in expand_ports(ivs):
                if src.startswith("ip:") and dst.startswith("ip:"):
                    continue
                if src.startswith("ip:"):
                    ip_side[(dst, p, True)] += ip_peer_intervals(src)
                elif dst.startswith("ip:"):
                    ip_side[(src, p, False)] += ip_peer_intervals(dst)
                else:
                    pod_flows.add(Flow(src, dst, p))
        for (pod, p, inbound), ivs in ip_side.items():
            for atom in self.ips:
                part = intersect(ivs, atom.intervals)
                if part:
                    name = atom.name if part == atom.intervals else f"{atom.name}[{cidrs_str(part)}]"
                    pod_flows.add(Flow(name, pod, p) if inbound else Flow(pod, name, p))
        return pod_flows


def expand_ports(ivs: Iterable[Interval]) -> list[Port]:
    """Merged port intervals as flow ports: ANY_PORT, single ports, or "lo-hi" for wide ranges."""
    out: list[Port] = []
    for lo, hi in merge_intervals(ivs):
        if lo <= 1 and hi >= 65535:
            out.append(ANY_PORT)
        elif hi - lo < 64:
            out.extend(range(lo, hi + 1))
        else:
            out.append(f"{lo}-{hi}")
    return out


class EngineError(RuntimeError):
    pass


def _peer_to_workload(peer: str, by_pod: Mapping[str, str]) -> str:
    return by_pod.get(peer, peer)  # an IP block stays "ip:<cidrs>"; Result.flows names it


def _result(raw: dict[str, Any], cluster: Cluster) -> Result:
    if raw.get("error"):
        raise EngineError(f"scenario {raw.get('id')!r}: {raw['error']}")
    by_pod = {f"{w.namespace}/{w.name}": w.name for w in cluster.workloads}
    conns = []
    for cube in raw["conns"]:
        protocols = None if cube["protocols"] == "*" else tuple(map(tuple, cube["protocols"]))
        ports = None if cube["dst_ports"] == "*" else tuple(map(tuple, cube["dst_ports"]))
        for s in cube["src"]:
            for d in cube["dst"]:
                if s != d:  # a pod talking to itself is not subject to NetworkPolicy
                    conns.append(Conn(_peer_to_workload(s, by_pod), _peer_to_workload(d, by_pod),
                                      protocols, ports, tuple(cube["other_dims"])))
    diff = raw.get("diff")
    return Result(raw["id"], conns, raw.get("dot"),
                  SemanticDiff(diff["differs"], diff["text"]) if diff else None,
                  raw.get("warnings", []), raw.get("seconds", 0.0), cluster.ips)


def _driver_env() -> dict[str, str]:
    # nca iterates sets of peers: a fixed hash seed makes its dot output byte-stable across runs
    return {**os.environ, "PYTHONHASHSEED": "0"}


def _check_python() -> Path:
    python = nca_python()
    if not python.exists():
        raise EngineError(f"{python} missing: create the nca venv (make tools) or set EPNP_NCA_PYTHON")
    return python


def _payload(scenarios: Sequence[Scenario]) -> list[dict[str, Any]]:
    return [dict(sc.to_json(), id=sc.id or str(i)) for i, sc in enumerate(scenarios)]


def analyze(scenarios: Sequence[Scenario], jobs: int | None = None, timeout: float = 600,
            cache: bool = True) -> list[Result]:
    """Run nca over all scenarios, results in the same order. One driver process per job (never one
    per scenario: importing nca alone costs ~0.4 s); by default one job per core for big batches.
    cache=False: the driver parses every scenario afresh (to check its cache)."""
    if not scenarios:
        return []
    python = _check_python()
    if jobs is None:
        jobs = min(os.cpu_count() or 1, 4) if len(scenarios) >= 100 else 1
    payload = _payload(scenarios)
    chunks = [payload[i::jobs] for i in range(jobs)]  # strided: similar cost per chunk

    def run(chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
        proc = subprocess.run([str(python), str(DRIVER), *([] if cache else ["--no-cache"])],
                              input=json.dumps({"scenarios": chunk}),
                              capture_output=True, text=True, timeout=timeout, env=_driver_env())
        if proc.returncode != 0:
            raise EngineError(f"nca driver exited {proc.returncode}:\n{proc.stderr[-4000:]}")
        return json.loads(proc.stdout)["results"]

    with ThreadPoolExecutor(jobs) as pool:  # threads only wait on the driver processes
        outs = list(pool.map(run, chunks))
    raw: list[dict[str, Any]] = [{}] * len(payload)
    for j, out in enumerate(outs):
        for k, r in enumerate(out):
            raw[j + k * jobs] = r
    return [_result(r, sc.cluster) for r, sc in zip(raw, scenarios, strict=True)]


class Engine:
    """A long-lived driver for many small batches (e.g. one per hypothesis example):
    pays nca's start-up once.  `with Engine() as e: e.analyze([...])`."""

    def __init__(self) -> None:
        self._err = tempfile.TemporaryFile("w+")  # a file, not a pipe: nca's chatter cannot block it
        self._proc = subprocess.Popen([str(_check_python()), str(DRIVER), "--serve"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._err, text=True, env=_driver_env())

    def analyze(self, scenarios: Sequence[Scenario]) -> list[Result]:
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(json.dumps({"scenarios": _payload(scenarios)}) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            self._err.seek(0)
            raise EngineError(f"nca driver died:\n{self._err.read()[-4000:]}")
        raw = json.loads(line)["results"]
        return [_result(r, sc.cluster) for r, sc in zip(raw, scenarios, strict=True)]

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)
        self._err.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def analyze_one(policies: list[dict[str, Any]], cluster: Cluster | None = None, **kw: Any) -> Result:
    return analyze([Scenario(policies, cluster or default_cluster(), **kw)])[0]


def semantic_diff(base: list[dict[str, Any]], new: list[dict[str, Any]],
                  cluster: Cluster | None = None, namespace: str = "ep") -> SemanticDiff:
    """nca's semantic diff (connections added/removed going from `base` to `new`) on the fixture."""
    res = analyze([Scenario(new, cluster or default_cluster(), "diff", namespace, base_policies=base)])[0]
    assert res.diff is not None
    return res.diff


# ---------------------------------------------------------------- diffs and display

def normalize(flows: Iterable[Flow]) -> set[Flow]:
    """Drop per-port flows of a pair that also has ANY_PORT, so equal connectivity compares equal."""
    flows = set(flows)
    wide = {(f.src, f.dst) for f in flows if f.port == ANY_PORT}
    return {f for f in flows if f.port == ANY_PORT or (f.src, f.dst) not in wide}


@dataclass
class FlowDiff:
    extra: set[Flow]    # allowed but not expected: the control leaks
    missing: set[Flow]  # expected but blocked: the product breaks
    everyone: frozenset[str] = frozenset()  # all sources; a port that all others share prints as `anyone`
    by_values: dict[Flow, str] = field(default_factory=dict)  # allowed by the values' own rules: not a failure

    def __bool__(self) -> bool:
        return bool(self.extra or self.missing)

    def __str__(self) -> str:
        if not self:
            return "no differences"
        lines = []
        for title, flows in (("allowed but not expected (extra)", self.extra),
                             ("expected but blocked (missing)", self.missing)):
            if flows:
                lines.append(f"{title}:")
                lines += [f"  {src} -> {dst}: {ports}" for (src, dst), ports in self._grouped(flows).items()]
        return "\n".join(lines)

    def _grouped(self, flows: set[Flow]) -> dict[tuple[str, str], str]:
        shared = set()
        if self.everyone:
            for dst, port in {(f.dst, f.port) for f in flows}:
                if {f.src for f in flows if f.dst == dst and f.port == port} >= self.everyone - {dst}:
                    shared.add((dst, port))
        rest = {f for f in flows if (f.dst, f.port) not in shared}
        return group_ports([*rest, *(Flow("anyone", d, p) for d, p in shared)])


def diff_flows(actual: Iterable[Flow], expected: Iterable[Flow], everyone: Iterable[str] = ()) -> FlowDiff:
    a, e = normalize(actual), normalize(expected)
    return FlowDiff(a - e, e - a, frozenset(everyone))


def _port_key(p: Port) -> tuple[int, int, str]:
    """Numbers first, in order; ranges by their start; then words (ANY_PORT, "non-TCP")."""
    if isinstance(p, int):
        return (0, p, "")
    head = str(p).split("-")[0]
    return (0, int(head), str(p)) if head.isdigit() else (1, 0, str(p))


def group_ports(flows: Iterable[Flow]) -> dict[tuple[str, str], str]:
    """{(src, dst): "3000,7000,8888"} sorted by pair, for tables and diffs."""
    by_pair: dict[tuple[str, str], list[Port]] = defaultdict(list)
    for f in flows:
        by_pair[(f.src, f.dst)].append(f.port)
    return {pair: ",".join(str(p) for p in sorted(set(ports), key=_port_key))
            for pair, ports in sorted(by_pair.items())}


def table(flows: Iterable[Flow], title: str = "") -> str:
    rows = group_ports(normalize(flows))
    w = max((len(f"{s} -> {d}") for s, d in rows), default=10)
    body = [f"{s + ' -> ' + d:<{w}}  {ports}" for (s, d), ports in rows.items()]
    return "\n".join(([title] if title else []) + body)


# nca labels a pod node with its name minus every path part equal to its namespace's name, so a pod named
# like its namespace (kafka/kafka, or flink-operator/flink-operator when the values put the operator in a
# namespace of that name) gets an empty HTML table, which dot refuses: label those with the pod's name.
_EMPTY_LABEL = re.compile(r'^(\t"[^"/]*/([^"]*)" \[label=<<table border="\d" cellspacing="0">)(</table>>)', re.M)


def to_svg(dot_text: str) -> bytes:
    """Render Graphviz dot text (nca's graph output) to SVG with the `dot` binary."""
    dot = shutil.which("dot")
    if not dot:
        raise EngineError("Graphviz `dot` not found: apt-get install graphviz (make tools does)")
    dot_text = _EMPTY_LABEL.sub(r"\1<tr><td>\2</td></tr>\3", dot_text)
    proc = subprocess.run([dot, "-Tsvg"], input=dot_text.encode(), capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise EngineError(f"dot failed: {proc.stderr.decode()[-2000:]}")
    return proc.stdout


if __name__ == "__main__":  # quick look: policies from a YAML file (or stdin) on the default fixture
    import yaml

    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    docs = [d for d in yaml.safe_load_all(src) if d]
    pols = [i for d in docs for i in (d.get("items", []) if d.get("kind", "").endswith("List") else [d])]
    print(table(analyze_one(pols).flows(), "allowed TCP flows:"))
