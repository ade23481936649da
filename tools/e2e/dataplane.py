"""The chart's policies enforced by real NetworkPolicy dataplanes (kube-router and Calico's felix,
tools/e2e/engines.py), probed with real TCP and UDP connections, and compared with the documented
flows and nca's on the same fixture, and with each other.

    python -m tools.e2e.dataplane [--engine kube-router|calico|both] [--values my-env.yaml]
                                                  # `make dataplane [ENGINE=...] [VALUES=...]`

For each case (a values file, tools/e2e/cases.py): render the chart, build the fixture the nca
check builds (tools.connectivity.cluster.cluster_for), place every fixture pod and every named block
of the outside world in the lab (tools/e2e/lab.py) as a Pod the API server knows (tools/e2e/kube.py),
apply only what changed, wait until the engine enforces it (a canary policy flips), and probe every
source -> destination:port. Three answers per probe and engine (tools/e2e/answers.py): documented
(tools.connectivity.model.Model: facts + values), nca (the same analysis `make verify` runs) and the
engine's; any disagreement names the probe and who disagrees (tools/e2e/truth_table.py). With both
engines, every case runs on each (one lab after the other), and the four answers of each probe are
compared: an engine disagreement fails the run too.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from tools.connectivity.cluster import Cluster, Workload
from tools.connectivity.engine import Result
from tools.connectivity.intervals import IpAtom
from tools.connectivity.model import Model
from tools.e2e import lab as labmod
from tools.e2e.answers import (
    Answer,
    CaseReport,
    NcaIndex,
    PodAddressModel,
    Probe,
    Row,
    compare_engines,
    every_probe,
    grant_allows,
    probe_ports,
)
from tools.e2e.cases import Case, Prepared, coverage_cases, prepare
from tools.e2e.engines import CHOICES, KUBE_ROUTER, Engine, engines
from tools.e2e.kube import NODE, POD_RANGES, Kube, choose_pod_range, outside_address, parallel
from tools.e2e.lab import Host, Lab, LabError, pod_veth
from tools.e2e.truth_table import case_line, engines_summary, engines_text, summary, truth_table
from tools.paths import HELM
from tools.values import Values, effective_values

Obj = dict[str, Any]

CANARY_NS = "epnp-canary"
CANARY_PORTS = (1111, 2222)

SETTLE_S = 1.0  # a disagreement must persist this long (pod informer lag: ms) before it counts
# A denied probe: kube-router rejects at once, felix drops, so a denial costs the whole timeout
# (probes wait side by side: tools/e2e/probe.py). An allowed connection on a veth takes well under
# a millisecond; one slower than this reads as denied and is probed again, for longer, by _settle.
DENY_TIMEOUT = 0.25
RETRY_TIMEOUT = 1.0
# The canary: a probe to the newly opened port every SYNC_STEP seconds, each given DENY_TIMEOUT,
# so a drop costs no resolution: the first to connect dates the enforcement.
SYNC_STEP = 0.005


def unavailable(engine_list: Sequence[Engine] = (KUBE_ROUTER,)) -> str | None:
    """Why a lab with these engines cannot run here, or None."""
    why = labmod.unavailable()
    for e in engine_list:
        why = why or e.missing()
    return why


# ---------------------------------------------------------------- the dataplane


def pod_name(w: Workload) -> str:
    """The Pod's name for a fixture workload: a union of two fixtures names a pod both place
    differently `name@namespace` or `name@from` (tools.connectivity.cluster.union), not a DNS label."""
    return w.name.replace("@", "--")


def in_canary_namespace(obj: Obj) -> bool:
    return bool(obj["metadata"]["namespace"] == CANARY_NS)


class Dataplane:
    """A lab with one engine enforcing, the fixture placed case by case."""

    def __init__(self, lab: Lab, engine: Engine = KUBE_ROUTER) -> None:
        assert lab.cp is not None
        self.lab = lab
        self.engine = engine
        self.kube = Kube(lab.cp.client, lab.node_ip)
        self.served: dict[str, tuple[set[int], set[int]]] = {}
        self.latencies: list[float] = []
        self._canary = 0
        self.first_sync = 0.0

    @classmethod
    def start(cls, pod_cidr: str = POD_RANGES[0], engine: Engine = KUBE_ROUTER) -> Dataplane:
        why = engine.missing()
        if why:
            raise LabError(why)
        lab = Lab.start(pod_cidr)
        try:
            dp = cls(lab, engine)
            dp._start()
        except BaseException:
            lab.stop()
            raise
        return dp

    def _start(self) -> None:
        lab, cp = self.lab, self.lab.cp
        assert cp is not None
        self.kube.create_node()
        self.engine.prepare(cp.client)
        self.engine.spawn(lab, cp.kubeconfig, NODE)
        # the canary: a pod whose policy the lab flips to tell when the engine has caught up
        self.kube.namespace(CANARY_NS, {})
        (client,) = lab.add_hosts([("canary-client", None)])
        self.canary = self.add_pod("canary", CANARY_NS, "canary", {"app": "canary"})
        lab.agent.serve(self.canary, "canary", CANARY_PORTS, [])
        self.canary_client = client
        self.first_sync = self.sync(timeout=60)

    def stop(self) -> None:
        self.lab.stop()

    def __enter__(self) -> Dataplane:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_pod(
        self,
        key: str,
        ns: str,
        name: str,
        labels: Mapping[str, str],
        ip: str | None = None,
        ports: Sequence[Mapping[str, Any]] = (),
    ) -> Host:
        """A pod: its host (veth named as felix expects) and its Pod object on the lab's node."""
        (h,) = self.lab.add_hosts([(key, ip)], veths={key: pod_veth(ns, name)})
        self.kube.namespace(ns, self.kube.ns_labels.get(ns, {}))
        self.kube.pod(key, ns, name, labels, h.ip, ports)
        return h

    def remove_pods(self, keys: Sequence[str]) -> None:
        parallel(self.kube.delete_pod, [k for k in keys if k in self.kube.pods])
        self.lab.remove_hosts([k for k in keys if k in self.lab.hosts])

    def helm_env(self) -> dict[str, str]:
        """helm's environment: the lab's API server, a private config and cache (nothing of the
        user's ~/.config/helm or HELM_*/KUBE* variables leaks in)."""
        assert self.lab.cp is not None
        home = self.lab.dir / "helm"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBE"))}
        env.update(
            KUBECONFIG=str(self.lab.cp.kubeconfig),
            HELM_CONFIG_HOME=str(home / "config"),
            HELM_CACHE_HOME=str(home / "cache"),
            HELM_DATA_HOME=str(home / "data"),
        )
        return env

    def helm(self, *args: str) -> str:
        """helm (v4) against the lab's API server, from inside the node namespace (inherited)."""
        proc = subprocess.run([str(HELM), *args], env=self.helm_env(), capture_output=True, text=True, timeout=120)
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

    def _write_canary(self) -> tuple[int, bool]:
        """Flip the canary's open port; returns the newly opened port and whether the policy was new."""
        self._canary += 1
        new = CANARY_PORTS[self._canary % 2]
        c = self.kube.c
        path = f"/apis/networking.k8s.io/v1/namespaces/{CANARY_NS}/networkpolicies/canary"
        status, cur = c.request("GET", path)
        body = self._canary_policy(new)
        if status == 404:
            c.create(body)
        else:
            body["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
            c.call("PUT", path, body)
        return new, status == 404

    def write_canary(self) -> int:
        """Flip the canary without waiting: the caller probes the returned port itself (everything
        written before is enforced once it connects)."""
        return self._write_canary()[0]

    def sync(self, timeout: float = 20) -> float:
        """Flip the canary's open port and wait until the engine enforces the flip: everything
        written to the API server before it is enforced too (one watch stream, in order).
        Returns the seconds from the write to the enforcement.

        The newly opened port connecting dates the flip. While the canary's policy is new (the
        first sync, or after someone deleted it) an open port may only mean no policy at all, so
        then the old port must be denied too."""
        new, fresh = self._write_canary()
        old = CANARY_PORTS[0] if new == CANARY_PORTS[1] else CANARY_PORTS[1]
        t0 = time.perf_counter()
        batch = int(DENY_TIMEOUT / SYNC_STEP)
        got: list[str] = []
        agent, src, dst = self.lab.agent, self.canary_client.netns, self.canary.ip
        while time.perf_counter() - t0 < timeout:
            t_batch = time.perf_counter()
            got = agent.probe([(src, dst, new, "tcp")] * batch, DENY_TIMEOUT, interval=SYNC_STEP, stop_on="canary")
            if "canary" not in got:
                continue
            dt = t_batch - t0 + got.index("canary") * SYNC_STEP
            if fresh and agent.probe([(src, dst, old, "tcp")], DENY_TIMEOUT)[0] not in ("refused", "timeout"):
                continue  # no policy enforced yet: everything is open
            self.latencies.append(dt)
            return dt
        raise LabError(
            f"{self.engine.name} did not enforce the canary within {timeout}s (probes: {sorted(set(got))})\n"
            + self.lab.log_tail(self.engine.log)
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
            ],
            veths={k: pod_veth(w.namespace, pod_name(w)) for k, (_, w) in want.items() if isinstance(w, Workload)},
        )
        for name, labels in cluster.namespaces.items():
            kube.namespace(name, labels)
        for o in objs:
            kube.namespace(o["metadata"]["namespace"], cluster.namespaces.get(o["metadata"]["namespace"], {}))
        out: dict[str, Host] = {}
        parallel(
            lambda kw: kube.pod(kw[0], kw[1].namespace, pod_name(kw[1]), kw[1].labels, lab.hosts[kw[0]].ip),
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
        return CaseReport(
            case, answers, cluster, self.engine.answer, time.perf_counter() - t0, sync * 1000, writes, phases=phases
        )

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
        probes = every_probe(cluster, ports)
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
            doc, why = grant_allows(strict, p.port)
            alt, _ = grant_allows(lenient, p.port)
            got = any(lo <= p.port <= hi for lo, hi in nca_ivs)
            note = ""
            if alt != doc and dp == alt:
                note = "an ipBlock of the values covers a pod address: matching pod IPs is implementation-defined"
            answers.append(Answer(p, doc, got, dp, why, note, self.engine.answer))
        self._settle(answers, hosts)
        for a in answers:
            if not a.note:
                a.note = self.engine.explains(a, objs, model, by_name)
        return answers

    def _settle(self, answers: list[Answer], hosts: Mapping[str, Host]) -> None:
        # a disagreement must persist: pods are watched on another stream than policies, and a
        # connection slower than DENY_TIMEOUT is given RETRY_TIMEOUT
        deadline = time.perf_counter() + SETTLE_S
        while odd := [a for a in answers if a.dataplane != a.documented and not a.note]:
            for a, dp in zip(odd, self._dataplane([a.probe for a in odd], hosts, RETRY_TIMEOUT), strict=True):
                a.dataplane = dp
            if time.perf_counter() > deadline:
                return
            time.sleep(0.2)

    def _dataplane(
        self, probes: Sequence[Probe], hosts: Mapping[str, Host], timeout: float = DENY_TIMEOUT
    ) -> list[bool]:
        raw = self.lab.agent.probe([(hosts[p.src].netns, hosts[p.dst].ip, p.port, p.proto) for p in probes], timeout)
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
            check = self.lab.agent.probe([(None, hosts[d].ip, port, proto) for d, port, proto in seen], RETRY_TIMEOUT)
            broken = [f"{d}:{port}/{proto}: {r}" for (d, port, proto), r in zip(seen, check, strict=True) if r != d]
            if broken:
                raise LabError("servers not answering the node: " + ", ".join(broken[:10]))
        return out


def run_cases(
    cases: Sequence[Case],
    dp: Dataplane | None = None,
    on_report: Callable[[CaseReport], None] | None = None,
    engine: Engine = KUBE_ROUTER,
) -> list[CaseReport]:
    """Every case on one engine (in `dp`, or a lab of its own)."""
    prepared, nca_future, pool = prepare(cases)
    try:
        return run_prepared(prepared, nca_future.result, engine, dp, on_report)
    finally:
        pool.shutdown()


def run_prepared(
    prepared: Sequence[Prepared],
    results: Callable[[], Sequence[Result]],
    engine: Engine = KUBE_ROUTER,
    dp: Dataplane | None = None,
    on_report: Callable[[CaseReport], None] | None = None,
) -> list[CaseReport]:
    """Rendered cases on one engine; `results` gives nca's answers (waited for once the lab runs)."""
    own = dp is None
    try:
        if dp is None:
            dp = Dataplane.start(choose_pod_range(o for p in prepared for o in p.objs), engine)
        reports = []
        for p, res in zip(prepared, results(), strict=True):
            rep = dp.run_case(p.case, p.objs, p.cluster, res)
            reports.append(rep)
            if on_report:
                on_report(rep)
        return reports
    finally:
        if own and dp is not None:
            dp.stop()


def run_engines(
    cases: Sequence[Case],
    engine_list: Sequence[Engine],
    on_report: Callable[[CaseReport], None] | None = None,
) -> tuple[dict[str, list[CaseReport]], list[Row]]:
    """Every case on each engine, one lab after the other (cases rendered and given to nca once);
    returns each engine's reports (by its name) and the probes compared across engines."""
    prepared, nca_future, pool = prepare(cases)
    try:
        runs = {e.name: run_prepared(prepared, nca_future.result, e, on_report=on_report) for e in engine_list}
    finally:
        pool.shutdown()
    by_answer = {e.answer: runs[e.name] for e in engine_list}
    return runs, compare_engines(by_answer) if len(engine_list) > 1 else []


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--values", type=Path, help="one values file (as for helm --values); default: every coverage case")
    ap.add_argument(
        "--engine", choices=CHOICES, default="both", help="the dataplane(s) to run every case on (default: both)"
    )
    ap.add_argument(
        "--tables",
        choices=("first", "all", "none"),
        default="first",
        help="truth tables to print (default: the first case's per engine, and every case with a disagreement)",
    )
    args = ap.parse_args(argv)
    cases = [Case(str(args.values), yaml.safe_load(args.values.read_text()) or {})] if args.values else coverage_cases()
    engine_list = engines(args.engine)
    why = unavailable(engine_list)
    if why:
        print(f"dataplane: cannot run here: {why}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    printed: dict[str, int] = {}

    def show(rep: CaseReport) -> None:
        n = printed.setdefault(rep.engine, 0)
        if args.tables == "all" or (args.tables == "first" and n == 0) or rep.disagreements:
            print(truth_table(rep) + "\n", flush=True)
            printed[rep.engine] = n + 1
        print(case_line(rep), flush=True)

    runs, rows = run_engines(cases, engine_list, on_report=show)
    print(f"\n{time.perf_counter() - t0:.1f} s in all")
    failed = False
    for e in engine_list:
        reports = runs[e.name]
        lat = [r.sync_ms for r in reports]
        nca_off = sum(1 for r in reports for a in r.answers if not a.note and a.nca != a.dataplane)
        print(
            f"{e.title}: {sum(len(r.answers) for r in reports)} probes; enforcement after a change: median "
            f"{statistics.median(lat):.0f} ms, max {max(lat):.0f} ms; nca disagrees with it on {nca_off} probes"
        )
        failed |= any(r.disagreements for r in reports)
    if rows:
        text = engines_text(rows)
        if text:
            print(text)
        failed |= any(r.disagree for r in rows)
    for e in engine_list:
        print(summary(runs[e.name], e.title))
    if rows:
        print(engines_summary(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
