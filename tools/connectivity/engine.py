"""The engine: what a set of NetworkPolicies lets through, computed by network-config-analyzer.

We do not re-implement NetworkPolicy semantics: tools/libexec/nca-driver.py runs nca (in its own venv,
since it pins its dependencies) over a whole batch of scenarios in ONE process, and this module (harness
venv, stdlib + pyyaml) ships the batch with its fixture cluster and turns nca's answer into flows.
The driver is run by path, never imported: nca is not installed in the harness's venv.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.connectivity.cluster import Cluster, default_cluster
from tools.connectivity.flows import Flow, Port, expand_ports, table
from tools.connectivity.intervals import WHOLE, Interval, IpAtom, cidrs_str, intersect, ip_peer_intervals
from tools.paths import CACHE, ROOT

PROTOCOL_NUMBERS = {"TCP": 6, "UDP": 17, "SCTP": 132}

DRIVER = ROOT / "tools" / "libexec" / "nca-driver.py"  # a script: run by path with the nca venv's python


def nca_python() -> Path:
    """The nca venv's interpreter ($EPNP_CACHE/venv-nca, made by `make tools`); EPNP_NCA_PYTHON overrides."""
    return Path(os.environ.get("EPNP_NCA_PYTHON") or CACHE / "venv-nca" / "bin" / "python")


# ---------------------------------------------------------------- scenarios and results


@dataclass(frozen=True)
class Ask:
    """One connection to explain: fixture workload names (a pod, or a block of the outside world)."""

    src: str
    dst: str
    protocol: str
    port: int

    def to_json(self, cluster: Cluster) -> dict[str, Any]:
        return {
            "src": _peer_of(self.src, cluster),
            "dst": _peer_of(self.dst, cluster),
            "protocol": PROTOCOL_NUMBERS[self.protocol],
            "port": self.port,
        }


def _peer_of(name: str, cluster: Cluster) -> str:
    """nca's name for a fixture workload: "namespace/pod", or "ip:<an address of the block>"."""
    atom = next((a for a in cluster.ips if a.name == name), None)
    if atom is not None:
        return f"ip:{cidrs_str([(atom.point, atom.point)])}"
    w = cluster.workload(name)
    return f"{w.namespace}/{w.name}"


@dataclass
class Scenario:
    policies: list[dict[str, Any]]
    cluster: Cluster = field(default_factory=default_cluster)
    id: str = ""
    namespace: str = "ep"  # for policies without metadata.namespace (as `kubectl apply -n`)
    base_policies: list[dict[str, Any]] | None = None  # set: semantic diff base -> policies instead
    selected: bool = False  # also ask which pods each policy selects (Result.selected)
    attribute: bool = False  # with base_policies: what of the change each rule of either side admits
    report: bool = True  # with base_policies: nca's text report too (most of a diff's cost)
    explain: Sequence[Ask] | None = None  # set: explain these connections (nca's --explain, rule by rule)
    locations: list[dict[str, Any]] | None = None  # per policy {"path", "line"}: where nca's --explain says it is

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            **self.cluster.to_json(),
            "policies": self._placed(self.policies),
        }
        if self.base_policies is not None:
            d["base_policies"] = self._placed(self.base_policies)
            d["attribute"] = self.attribute
            d["report"] = self.report
        if self.selected:
            d["selected"] = True
        if self.explain is not None:
            d["explain"] = [a.to_json(self.cluster) for a in self.explain]
        if self.locations is not None:
            d["locations"] = self.locations
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


@dataclass(frozen=True)
class PolicyRules:
    """One policy as nca parsed it: the directions it isolates, the fixture workloads it selects, and
    per rule (the object's order) the connections of interest the rule admits."""

    policy: str  # namespace/name
    ingress: bool
    egress: bool
    selects: frozenset[str]
    ingress_rules: tuple[tuple[Conn, ...], ...]
    egress_rules: tuple[tuple[Conn, ...], ...]

    @property
    def name(self) -> str:
        return self.policy.split("/", 1)[-1]

    @property
    def namespace(self) -> str:
        return self.policy.split("/", 1)[0] if "/" in self.policy else ""

    def rules(self, direction: str) -> tuple[tuple[Conn, ...], ...]:
        return self.ingress_rules if direction == "ingress" else self.egress_rules

    def isolates(self, direction: str) -> bool:
        return self.ingress if direction == "ingress" else self.egress


@dataclass
class SemanticDiff:
    differs: bool
    text: str  # nca's report
    added: list[Conn] = field(default_factory=list)
    removed: list[Conn] = field(default_factory=list)
    rules: dict[str, list[PolicyRules]] | None = None  # "base"/"new": with Scenario.attribute


@dataclass(frozen=True)
class NcaExplain:
    """nca's own --explain for a pair of workloads. It explains pairs, not ports: `connected` is true when
    any port is open; `src`/`dst` name the policies allowing the pair on each end when connected, else
    every policy selecting that end."""

    text: str
    connected: bool | None  # None: nca could not name an outside address
    src: tuple[str, ...]
    dst: tuple[str, ...]


@dataclass
class Explanation:
    """nca's answer for one connection of Scenario.explain: allowed or not (its connectivity map), and
    every policy with the rules that admit the connection."""

    allowed: bool
    policies: list[PolicyRules]  # rule conns: the connection itself, where the rule admits it
    nca: NcaExplain


@dataclass(frozen=True)
class Selection:
    """The workloads one policy selects, as nca parsed it, and the directions it isolates them in."""

    pods: frozenset[str]
    ingress: bool
    egress: bool


@dataclass
class Result:
    id: str
    conns: list[Conn]
    diff: SemanticDiff | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    ips: tuple[IpAtom, ...] = (WHOLE,)
    selected: dict[str, Selection] = field(default_factory=dict)  # "namespace/name" -> (Scenario.selected)
    explanations: list[Explanation] | None = None  # one per Scenario.explain

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


class EngineError(RuntimeError):
    pass


def _peer_to_workload(peer: str, by_pod: Mapping[str, str]) -> str:
    return by_pod.get(peer, peer)  # an IP block stays "ip:<cidrs>"; Result.flows names it


def _conns(cubes: Iterable[dict[str, Any]], by_pod: Mapping[str, str]) -> list[Conn]:
    conns = []
    for cube in cubes:
        protocols = None if cube["protocols"] == "*" else tuple(map(tuple, cube["protocols"]))
        ports = None if cube["dst_ports"] == "*" else tuple(map(tuple, cube["dst_ports"]))
        for s in cube["src"]:
            for d in cube["dst"]:
                if s != d:  # a pod talking to itself is not subject to NetworkPolicy
                    conns.append(
                        Conn(
                            _peer_to_workload(s, by_pod),
                            _peer_to_workload(d, by_pod),
                            protocols,
                            ports,
                            tuple(cube["other_dims"]),
                        )
                    )
    return conns


def _policy_rules(raw: dict[str, Any], by_pod: Mapping[str, str]) -> PolicyRules:
    return PolicyRules(
        raw["policy"],
        raw["ingress"],
        raw["egress"],
        frozenset(_peer_to_workload(p, by_pod) for p in raw["selects"]),
        tuple(tuple(_conns(r, by_pod)) for r in raw["ingress_rules"]),
        tuple(tuple(_conns(r, by_pod)) for r in raw["egress_rules"]),
    )


def _explanation(raw: dict[str, Any], by_pod: Mapping[str, str]) -> Explanation:
    nca = raw["nca"]
    return Explanation(
        raw["allowed"],
        [_policy_rules(p, by_pod) for p in raw["policies"]],
        NcaExplain(nca["text"], nca["connected"], tuple(nca["src"]), tuple(nca["dst"])),
    )


def _result(raw: dict[str, Any], cluster: Cluster) -> Result:
    if raw.get("error"):
        raise EngineError(f"scenario {raw.get('id')!r}: {raw['error']}")
    by_pod = {f"{w.namespace}/{w.name}": w.name for w in cluster.workloads}
    diff, sem = raw.get("diff"), None
    if diff:
        rules = diff.get("rules")
        sem = SemanticDiff(
            diff["differs"],
            diff["text"],
            _conns(diff.get("added") or [], by_pod),
            _conns(diff.get("removed") or [], by_pod),
            {side: [_policy_rules(p, by_pod) for p in pols] for side, pols in rules.items()} if rules else None,
        )
    ex = raw.get("explain")
    selected = {
        s["policy"]: Selection(frozenset(_peer_to_workload(p, by_pod) for p in s["pods"]), s["ingress"], s["egress"])
        for s in raw.get("selected") or []
    }
    return Result(
        raw["id"],
        _conns(raw["conns"], by_pod),
        sem,
        raw.get("warnings", []),
        raw.get("seconds", 0.0),
        cluster.ips,
        selected,
        [_explanation(e, by_pod) for e in ex] if ex is not None else None,
    )


def _driver_env() -> dict[str, str]:
    # nca iterates sets of peers: a fixed hash seed makes its output byte-stable across runs
    return {**os.environ, "PYTHONHASHSEED": "0"}


def _check_python() -> Path:
    python = nca_python()
    if not python.exists():
        raise EngineError(f"{python} missing: create the nca venv (make tools) or set EPNP_NCA_PYTHON")
    return python


def _payload(scenarios: Sequence[Scenario]) -> list[dict[str, Any]]:
    return [dict(sc.to_json(), id=sc.id or str(i)) for i, sc in enumerate(scenarios)]


def analyze(
    scenarios: Sequence[Scenario], jobs: int | None = None, timeout: float = 600, cache: bool = True
) -> list[Result]:
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
        proc = subprocess.run(
            [str(python), str(DRIVER), *([] if cache else ["--no-cache"])],
            input=json.dumps({"scenarios": chunk}),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_driver_env(),
        )
        if proc.returncode != 0:
            raise EngineError(f"nca driver exited {proc.returncode}:\n{proc.stderr[-4000:]}")
        results: list[dict[str, Any]] = json.loads(proc.stdout)["results"]
        return results

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
        # a file, not a pipe: nca's chatter cannot block it; it lives as long as the driver (close())
        self._err = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed by close(), not by a with block
        self._proc = subprocess.Popen(
            [str(_check_python()), str(DRIVER), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            env=_driver_env(),
        )

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


def semantic_diff(
    base: list[dict[str, Any]], new: list[dict[str, Any]], cluster: Cluster | None = None, namespace: str = "ep"
) -> SemanticDiff:
    """nca's semantic diff (connections added/removed going from `base` to `new`) on the fixture."""
    res = analyze([Scenario(new, cluster or default_cluster(), "diff", namespace, base_policies=base)])[0]
    assert res.diff is not None
    return res.diff


if __name__ == "__main__":  # quick look: policies from a YAML file (or stdin) on the default fixture
    import yaml

    text = Path(sys.argv[1]).read_text() if len(sys.argv) > 1 else sys.stdin.read()
    docs = [d for d in yaml.safe_load_all(text) if d]
    pols = [i for d in docs for i in (d.get("items", []) if d.get("kind", "").endswith("List") else [d])]
    print(table(analyze_one(pols).flows(), "allowed TCP flows:"))
