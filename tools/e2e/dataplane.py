"""The chart's policies enforced by a real NetworkPolicy dataplane (kube-router), probed with real
TCP and UDP connections, and compared with the documented flows and nca's on the same fixture.

    python -m tools.e2e.dataplane [--values my-env.yaml]     # `make dataplane [VALUES=...]`

For each case (a values file, tools/e2e/cases.py): render the chart, build the fixture the nca
check builds (tools.connectivity.cluster.cluster_for), place every fixture pod and every named block
of the outside world in the lab (tools/e2e/lab.py) as a Pod the API server knows (tools/e2e/kube.py),
apply only what changed, wait until kube-router enforces it (a canary policy flips), and probe every
source -> destination:port. Three answers per probe (tools/e2e/answers.py): documented
(tools.connectivity.model.Model: facts + values), nca (the same analysis `make verify` runs) and the
dataplane; any disagreement names the probe and who disagrees (tools/e2e/truth_table.py).
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
from tools.e2e.answers import (
    Answer,
    CaseReport,
    NcaIndex,
    PodAddressModel,
    Probe,
    grant_allows,
    kube_router_explains,
    probe_ports,
)
from tools.e2e.cases import Case, coverage_cases, prepare
from tools.e2e.kube import NODE, POD_RANGES, Kube, choose_pod_range, outside_address, parallel
from tools.e2e.lab import Host, Lab, LabError
from tools.e2e.truth_table import case_line, summary, truth_table
from tools.paths import BIN, HELM
from tools.values import Values, effective_values

Obj = dict[str, Any]

SERVICE_RANGE = "100.127.255.0/24"  # bookkeeping only: no Service traffic in the lab

CANARY_NS = "epnp-canary"
CANARY_PORTS = (1111, 2222)

SETTLE_S = 1.0  # a disagreement must persist this long (pod informer lag: ms) before it counts


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
            doc, why = grant_allows(strict, p.port)
            alt, _ = grant_allows(lenient, p.port)
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
