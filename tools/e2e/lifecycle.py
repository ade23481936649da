"""The chart's transitions on real dataplanes, probed while helm runs: does any flow that should stay
allowed (or stay denied) through an install, upgrade, rollback or uninstall flip, and for how long?

    python -m tools.e2e.lifecycle [--engine kube-router|calico|both] [--repeat N] [--short]
                                                  # `make dataplane-lifecycle [ENGINE=] [REPEAT=]`

One lab per engine (tools/e2e/dataplane.py), one release, a chain of steps (`steps()`), each a
helm command from one state (a chart and its values, or nothing installed) to the next. Per step:
the fixture of both states is placed (tools.connectivity.cluster.union), each probe's documented
answer before and after is taken from the documented model (tools.connectivity.model.Model; with
nothing installed, everything is open), and the dataplane is checked to give both steady answers
(before helm starts; after it returns and the engine has enforced all it wrote). A probe whose
answer is the same before and after is *promised*: while helm runs and until the engine catches
up, it is probed round after round, and every round that answers otherwise is part of a *window*
(that flow, that long). Upgrades and rollbacks are promised gapless; an install (from nothing) and
an uninstall are measured and reported apart: helm creates and deletes one kind's objects in
parallel (helm v4.3.1 pkg/kube/client.go, batchPerform), so no chart can order them.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import ipaddress
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tools.chart_history import chart_at, version_commit
from tools.connectivity.cluster import Cluster, Workload, cluster_for, union
from tools.connectivity.engine import Scenario, analyze
from tools.connectivity.flows import Flow
from tools.connectivity.model import PROTOCOLS, Model
from tools.e2e.answers import PodAddressModel, Probe, every_probe, grant_allows, probe_ports
from tools.e2e.dataplane import DENY_TIMEOUT, Dataplane, in_canary_namespace, unavailable
from tools.e2e.engines import CHOICES, Engine, engines
from tools.e2e.kube import choose_pod_range
from tools.e2e.lab import Host, LabError
from tools.paths import CHART, HELM, ROOT
from tools.render import NAMESPACE, helm_template, parse
from tools.scenarios import FULL_PAGE, GROUP_SWITCHES
from tools.values import Values, effective_values, get, updated

Obj = dict[str, Any]
RELEASE = "epnp"
PROMISED = ("upgrade", "rollback")  # the ops the chart promises gapless
ROUND_TIMEOUT = 0.1  # an allowed connection on a veth takes well under 1 ms; felix drops a denied one
CONFIRM_TIMEOUT = 1.0  # a denied answer in a round is confirmed with a longer probe at once
TAIL_ROUNDS = 2  # rounds after the engine enforced the last write (the canary), before the step ends
HELM_TIMEOUT = 120


# ---------------------------------------------------------------- states and steps


@dataclass(frozen=True)
class State:
    label: str
    values: Values | None = None  # the user's overrides; None: the release is not installed
    chart: Path = CHART

    @property
    def installed(self) -> bool:
        return self.values is not None


NOTHING = State("nothing installed")


@dataclass(frozen=True)
class Step:
    name: str
    op: str  # install | upgrade | rollback | uninstall
    after: State  # for a rollback: the state rolled back to (the runner checks helm's revision)
    # An upgrade through `via` first, `pause` seconds there, then to `after`: a window made on purpose
    # (the test that the measurement sees one)
    via: State | None = None
    pause: float = 0.0

    @property
    def promised(self) -> bool:
        return self.op in PROMISED


DENY: Values = {"denyAllIngress": {"enabled": True}}


def _with(values: Values, *pairs: tuple[str, Any]) -> Values:
    v = copy.deepcopy(values)
    for k, x in pairs:
        v = updated(v, k, x)
    return v


def _example(name: str) -> Values:
    return yaml.safe_load((CHART / "examples" / f"{name}.yaml").read_text()) or {}


def old_chart(version: str, into: Path) -> Path:
    """The chart as the last commit at `version` has it (`make diff FROM_VERSION=`'s reader)."""
    chart, _ = chart_at(version_commit(version, ROOT), into)
    return chart


def steps(old: Path | None = None, short: bool = False) -> list[Step]:
    """The chain, from nothing installed back to nothing. `old`: the previous chart version's
    directory (its upgrade step is left out without it). `short`: the form `make test` runs."""
    full = copy.deepcopy(FULL_PAGE)  # deny-all + metrics: the whole page
    three = _example("three-flink-deployments")
    deps = get(effective_values(three), "flink.deployments")
    renamed = copy.deepcopy(deps)
    renamed[1]["name"] = "orders-enrichment-v2"
    added = [*copy.deepcopy(deps), {"name": "late-arrivals", "namespace": "flink-jobs"}]
    extra_a = {"from": [{"namespaceSelector": {"matchLabels": {"team": "sre"}}}], "ports": [{"port": 9999}]}
    extra_b = {"from": [{"ipBlock": {"cidr": "192.0.2.0/24"}}], "ports": [{"port": 9998}]}
    kafka_a = {"ports": [9092], "to": [{"cidr": "198.51.100.0/24"}]}
    kafka_b = {"ports": [9092], "to": [{"cidr": "198.51.100.0/25"}, {"cidr": "203.0.113.0/24"}]}
    egress = ("eventProcessing.instance.egress.enabled", True)
    out = [
        Step("install, defaults", "install", State("defaults", {})),
        Step("upgrade: deny-all and metrics on together", "upgrade", State("whole page", full)),
    ]
    switches = GROUP_SWITCHES[:1] if short else GROUP_SWITCHES
    ack = ("acknowledge.denyAllWithoutProductPolicies", True)
    for sw in switches:
        off = State(f"whole page, {sw} off", _with(full, (sw, False), ack))
        out += [Step(f"upgrade: {sw} off under deny-all", "upgrade", off)]
        out += [Step(f"upgrade: {sw} on again", "upgrade", State("whole page", full))]
    out.append(Step("rollback: to the group off", "rollback", out[-2].after))
    x1 = State("extra rule", _with(full, ("flink.jobmanager.extraIngress", [extra_a])))
    x2 = State("two extra rules", _with(full, ("flink.jobmanager.extraIngress", [extra_a, extra_b])))
    x3 = State("two extra rules, reordered", _with(full, ("flink.jobmanager.extraIngress", [extra_b, extra_a])))
    x4 = State("second extra rule only", _with(full, ("flink.jobmanager.extraIngress", [extra_b])))
    out += [
        *([] if short else [Step("upgrade: an extra rule added", "upgrade", x1)]),
        Step("upgrade: a second extra rule added", "upgrade", x2),
        Step("upgrade: extra rules reordered", "upgrade", x3),
        *([] if short else [Step("upgrade: the first extra rule removed", "upgrade", x4)]),
    ]
    k1 = State("Kafka egress", _with(full, egress, ("eventProcessing.instance.egress.kafka", kafka_a)))
    k2 = State("Kafka egress, kafka.to edited", _with(full, egress, ("eventProcessing.instance.egress.kafka", kafka_b)))
    out += [
        Step("upgrade: EP egress with Kafka on", "upgrade", k1),
        Step("upgrade: kafka.to edited", "upgrade", k2),
        Step("rollback: kafka.to as before", "rollback", k1),
    ]
    if not short:
        # kube-router names a rule's ipsets by its position and loads them before it swaps in the
        # new rules: an entry added ahead of two Flink deployments' rules (REST 8081 and 18081)
        # moves each deployment's rule onto the other's position (docs/dataplane.md)
        two = [{"name": "ibm-eventautomation-flink"}, {"name": "second", "ports": {"rest": 18081}}]
        s1 = State("Kafka egress, two deployments", _with(k1.values or {}, ("flink.deployments", two)))
        s2 = State("Kafka egress grown, two deployments", _with(k2.values or {}, ("flink.deployments", two)))
        out += [
            Step("upgrade: a second Flink deployment", "upgrade", s1),
            Step("upgrade: kafka.to grows ahead of the deployments' rules", "upgrade", s2),
            Step("upgrade: kafka.to shrinks", "upgrade", s1),
        ]
    # EP egress off in an upgrade of its own, the rest as it was: the next step drops policies on the
    # destinations' side (metrics off, the Flink operator moved, a deployment gone), and dropping a
    # source's egress policy in the same upgrade opens its flows between helm's two deletions
    # (docs/upgrading.md)
    last = out[-1].after
    no_egress = State(f"{last.label}, EP egress off", _with(last.values or {}, (egress[0], False)))
    out += [
        Step("upgrade: EP egress off", "upgrade", no_egress),
        Step("upgrade: three Flink deployments", "upgrade", State("three deployments", three)),
    ]
    if not short:
        out += [
            Step(
                "upgrade: a Flink deployment renamed",
                "upgrade",
                State("a deployment renamed", _with(three, ("flink.deployments", renamed))),
            ),
            Step(
                "upgrade: a Flink deployment added",
                "upgrade",
                State("a deployment added", _with(three, ("flink.deployments", added))),
            ),
            Step("upgrade: the deployment removed", "upgrade", State("three deployments", three)),
        ]
    three_open = State("three deployments, deny-all off", _with(three, ("denyAllIngress.enabled", False)))
    out += [
        Step("uninstall", "uninstall", NOTHING),
        Step("install, three Flink deployments with deny-all", "install", State("three deployments", three)),
        Step("upgrade: deny-all off", "upgrade", three_open),
        Step("uninstall, deny-all off", "uninstall", NOTHING),
    ]
    if not short:
        out += [
            Step("install, deny-all", "install", State("defaults + deny-all", DENY)),
            Step("uninstall", "uninstall", NOTHING),
        ]
    if old is not None:
        version = yaml.safe_load((old / "Chart.yaml").read_text())["version"]
        prev = State(f"deny-all, chart {version}", DENY, old)
        out += [
            Step("install the previous chart version, deny-all", "install", prev),
            Step("upgrade: from the previous chart version", "upgrade", State("defaults + deny-all", DENY)),
            Step("rollback: to the previous chart version", "rollback", prev),
            Step("upgrade: from the previous chart version again", "upgrade", State("defaults + deny-all", DENY)),
        ]
    out.append(Step("uninstall", "uninstall", NOTHING))
    return out


# ---------------------------------------------------------------- one step's probes


@dataclass
class Window:
    probe: Probe
    expected: bool  # the promised answer (True: a documented flow; False: an undocumented one)
    rounds: int  # rounds that answered otherwise
    low_ms: float  # from the first wrong round's start to the last wrong round's end
    high_ms: float  # from the last right round before it to the first right round after it
    newly: bool = False  # its source or destination comes under the chart's policies (or leaves them)

    def line(self) -> str:
        what = "documented flow denied" if self.expected else "undocumented flow allowed"
        p = self.probe
        return (
            f"    window: {p.src} -> {p.dst}:{p.port}/{p.proto}: {what} for "
            f"{self.low_ms:.0f}-{self.high_ms:.0f} ms ({self.rounds} rounds)"
            + (", a pod newly under the chart's policies" if self.newly else "")
        )


@dataclass
class StepReport:
    step: Step
    engine: str
    probes: int = 0  # probes sent while the step ran (rounds only)
    promised: int = 0  # probes per round
    rounds: int = 0
    round_ms: float = 0.0  # median round time
    helm_s: float = 0.0
    enforced_ms: float = 0.0  # from helm's exit to the engine enforcing the canary written after it
    windows: list[Window] = field(default_factory=list)
    unsteady: list[str] = field(default_factory=list)  # steady answers unlike the documented ones

    @property
    def counted(self) -> list[Window]:
        """The windows the step's promise covers: all but those of pods newly under the chart."""
        return [w for w in self.windows if not w.newly]

    @property
    def denied(self) -> int:
        return sum(1 for w in self.counted if w.expected)

    @property
    def opened(self) -> int:
        return sum(1 for w in self.counted if not w.expected)

    def lines(self) -> list[str]:
        head = (
            f"  {self.step.name} ({self.step.op}{'' if self.step.promised else ', not promised'}): "
            f"{self.probes} probes in {self.rounds} rounds of {self.promised} (a round every "
            f"{self.round_ms:.0f} ms); helm {self.helm_s:.2f} s, enforced {self.enforced_ms:.0f} ms after; "
            f"{len(self.windows) or 'no'} windows"
        )
        return [head, *(w.line() for w in self.windows), *(f"    unsteady: {u}" for u in self.unsteady)]


def expected_answers(
    state: State, probes: Sequence[Probe], cluster: Cluster, ips: dict[str, int]
) -> tuple[list[bool], list[bool]]:
    """Each probe's documented answer in `state`, and the answer an engine that also matches pod
    addresses with the values' ipBlocks gives (implementation-defined: tools/e2e/answers.py)."""
    if not state.installed:
        return [True] * len(probes), [True] * len(probes)
    values = effective_values(state.values)
    cluster = as_deployed(cluster, values)
    strict, loose = Model(values, cluster), PodAddressModel(values, cluster, ips)
    by = {w.name: w for w in cluster.all_workloads()}
    memo: dict[tuple[str, str, str], tuple[Any, Any]] = {}
    doc, alt = [], []
    for p in probes:
        k = (p.src, p.dst, p.proto)
        if k not in memo:
            memo[k] = (
                strict.allowed(by[p.src], by[p.dst], p.proto.upper()),
                loose.allowed(by[p.src], by[p.dst], p.proto.upper()),
            )
        doc.append(grant_allows(memo[k][0], p.port)[0])
        alt.append(grant_allows(memo[k][1], p.port)[0])
    return doc, alt


def as_deployed(cluster: Cluster, values: Values) -> Cluster:
    """The fixture as `values` see it: a pod the values' own fixture does not place alike
    (namespace, labels, role: the other state's operator in another namespace, a Flink deployment
    renamed, added or removed) is nobody's there, like any unrelated pod: the policies select by
    namespace and labels, and the documented model by role."""

    def same(w: Workload) -> tuple[str, frozenset[tuple[str, str]], frozenset[str], str]:
        return (w.namespace, frozenset(w.labels.items()), w.kinds, w.cell)

    own = {same(w) for w in cluster_for(values).workloads}

    def plain(w: Workload) -> Workload:
        if w.kinds and same(w) not in own:
            return dataclasses.replace(w, group="unrelated", kinds=frozenset(), cell="")
        return w

    return dataclasses.replace(cluster, workloads=tuple(plain(w) for w in cluster.workloads))


def governed(state: State, cluster: Cluster) -> set[str]:
    """The pods of the fixture that `state`'s policies are made for (none with nothing installed)."""
    if not state.installed:
        return set()
    return {w.name for w in as_deployed(cluster, effective_values(state.values)).workloads if w.kinds}


def state_objs(state: State) -> list[Obj]:
    if not state.installed:
        return []
    text = helm_template(state.values, chart=state.chart, release=RELEASE, namespace=NAMESPACE)
    return [o for o in parse(text) if o.get("kind") == "NetworkPolicy"]


def state_cluster(state: State) -> Cluster | None:
    return cluster_for(effective_values(state.values)) if state.installed else None


def step_cluster(before: State, after: State) -> Cluster:
    """The fixture a step is judged on: both states' pods (the one installed state's, for an install
    or an uninstall)."""
    clusters = [c for c in (state_cluster(before), state_cluster(after)) if c is not None]
    return clusters[0] if len(clusters) == 1 else union(clusters[0], clusters[1])


def helm_calls(before: list[Obj], after: list[Obj]) -> list[list[Obj]]:
    """The policy sets an upgrade or rollback passes through, one per API call, as helm makes them
    (helm v4.3.1 pkg/kube/client.go, Client.Update): each object of the new manifest created or
    updated in its order, then each object the new manifest lacks deleted, in the old one's order."""

    def key(o: Obj) -> tuple[str, str]:
        return o["metadata"].get("namespace", ""), o["metadata"]["name"]

    current = {key(o): o for o in before}
    kept = {key(o) for o in after}
    out = []
    for o in after:
        current[key(o)] = o
        out.append(list(current.values()))
    for o in (o for o in before if key(o) not in kept):
        del current[key(o)]
        out.append(list(current.values()))
    return out


def call_windows(before: State, after: State) -> tuple[set[tuple[Flow, str]], set[tuple[Flow, str]]]:
    """What helm's calls between two states open that neither state allows, and deny that both
    allow, judged by network-config-analyzer on the fixture of both states (TCP and UDP): the
    windows an upgrade has whatever the dataplane's timing. A dataplane shows one only when a sync
    falls between two calls, so the lifecycle run may miss it; this does not."""
    b = state_objs(before)
    cluster = step_cluster(before, after)
    # the last call leaves the after state's objects, so it is the after state's answer
    sets = [b, *helm_calls(b, state_objs(after))]
    results = analyze([Scenario(s, cluster, f"call {i}") for i, s in enumerate(sets)])
    opened: set[tuple[Flow, str]] = set()
    denied: set[tuple[Flow, str]] = set()
    for proto in PROTOCOLS:
        first, last = results[0].flows(proto), results[-1].flows(proto)
        either, both = first | last, first & last
        for r in results[1:-1]:
            flows = r.flows(proto)
            opened |= {(f, proto) for f in flows - either}
            denied |= {(f, proto) for f in both - flows}
    return opened, denied


class Runner:
    """One engine's lab, one release, the chain's steps in order."""

    def __init__(self, dp: Dataplane, workdir: Path) -> None:
        self.dp = dp
        self.dir = workdir
        self.state = NOTHING
        self.history: list[State] = []  # helm's revisions, 1-based: history[r - 1]

    def command(self, step: Step) -> list[str]:
        """The step's helm command(s), as one argv; the history updated as helm will."""
        if step.via is None:
            return [str(HELM), *self.helm_argv(step.op, step.after)]
        first, second = self.helm_argv(step.op, step.via), self.helm_argv(step.op, step.after)
        script = f"{shlex.join([str(HELM), *first])} && sleep {step.pause} && {shlex.join([str(HELM), *second])}"
        return ["sh", "-c", script]

    def helm_argv(self, op: str, after: State) -> list[str]:
        rel = [RELEASE, "--namespace", NAMESPACE]
        if op == "uninstall":
            self.history = []
            return ["uninstall", *rel]
        if op == "rollback":
            target = max(i for i, s in enumerate(self.history[:-1], 1) if s == after)
            self.history.append(after)
            return ["rollback", RELEASE, str(target), "--namespace", NAMESPACE]
        self.history.append(after)
        f = self.dir / f"values-{len(self.history)}.json"
        f.write_text(json.dumps(after.values))  # JSON is YAML
        verb = ["install"] if op == "install" else ["upgrade"]
        return [*verb, RELEASE, str(after.chart), "--namespace", NAMESPACE, "-f", str(f)]

    def run(self, step: Step) -> StepReport:
        before, after = self.state, step.after
        dp = self.dp
        rep = StepReport(step, dp.engine.name)
        cluster = step_cluster(before, after)
        objs = [*state_objs(before), *state_objs(after)]
        values = effective_values(after.values if after.installed else before.values)
        ports = probe_ports(objs, values, Model(values, as_deployed(cluster, values)))
        hosts = dp.place(cluster, objs, ports)
        probes = every_probe(cluster, ports)
        ips = {w.name: int(ipaddress.IPv4Address(hosts[w.name].ip)) for w in cluster.workloads}
        doc_a, alt_a = expected_answers(before, probes, cluster, ips)
        doc_b, alt_b = expected_answers(after, probes, cluster, ips)
        # A UDP datagram that matches a conntrack entry of a conversation allowed earlier (the state
        # before an install, a flow this step's "before" still allows) is accepted on both engines:
        # their pod chains accept ESTABLISHED first. A probe that happens to reuse such an ephemeral
        # port would read as a window; the step starts from no UDP entry (the lab's node only).
        dp.lab.node_exec("conntrack", "-D", "-p", "udp", check=False)
        dp.sync()
        steady_a = self.steady(probes, hosts, doc_a, alt_a, rep, before.label)
        promised = [
            (p, a)
            for p, a, da, db, aa, ab in zip(probes, steady_a, doc_a, doc_b, alt_a, alt_b, strict=True)
            if da == db and aa == ab
        ]
        rep.promised = len(promised)
        samples = self.during(step, promised, hosts, rep)
        self.state = after
        self.steady(probes, hosts, doc_b, alt_b, rep, after.label)
        rep.windows = windows(promised, samples)
        # a pod that comes under the chart's policies (or leaves them) in this step, such as a Flink
        # deployment added while its pods run, goes through an install: helm's first policy selecting
        # it isolates it before the others admit the rest (an upgrade applies one object at a time)
        moved = governed(before, cluster) ^ governed(after, cluster) if step.promised else set()
        for w in rep.windows:
            w.newly = w.probe.src in moved or w.probe.dst in moved
        return rep

    def steady(
        self,
        probes: Sequence[Probe],
        hosts: dict[str, Host],
        doc: list[bool],
        alt: list[bool],
        rep: StepReport,
        label: str,
    ) -> list[bool]:
        """The dataplane's settled answers; each unlike both documented answers is reported.

        Every probe is given DENY_TIMEOUT (felix drops a denied one, which costs the whole timeout),
        and a timeout is confirmed with CONFIRM_TIMEOUT only where a documented answer allows the
        flow: a slow connect can make an allowed flow look denied, never a denied one look allowed."""
        raw = self.dp.lab.agent.probe(
            [(hosts[p.src].netns, hosts[p.dst].ip, p.port, p.proto) for p in probes], DENY_TIMEOUT
        )
        got = [self._read(p, r) for p, r in zip(probes, raw, strict=True)]
        slow = [i for i, r in enumerate(raw) if r == "timeout" and (doc[i] or alt[i])]
        if slow:
            for i, g in zip(slow, self._probe([probes[i] for i in slow], hosts, CONFIRM_TIMEOUT), strict=True):
                got[i] = g
        deadline = time.perf_counter() + 2.0
        while (odd := [i for i, g in enumerate(got) if g not in (doc[i], alt[i])]) and time.perf_counter() < deadline:
            again = self._probe([probes[i] for i in odd], hosts, CONFIRM_TIMEOUT)
            for i, g in zip(odd, again, strict=True):
                got[i] = g
            time.sleep(0.2)
        for i, g in enumerate(got):
            if g not in (doc[i], alt[i]):
                p = probes[i]
                rep.unsteady.append(
                    f"{label}: {p.src} -> {p.dst}:{p.port}/{p.proto} "
                    f"{'allowed' if g else 'denied'}, documented {'allowed' if doc[i] else 'denied'}"
                )
        return got

    def during(
        self, step: Step, promised: Sequence[tuple[Probe, bool]], hosts: dict[str, Host], rep: StepReport
    ) -> list[Sample]:
        """Rounds of the promised probes from helm's start until the engine has enforced
        everything helm wrote (a canary written after helm returns) and TAIL_ROUNDS more."""
        dp = self.dp
        argv = self.command(step)
        env = dp.helm_env()
        out: list[Sample] = []
        times: list[float] = []
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        canary: tuple[int, float] | None = None  # (port, when written)
        tail = 0
        try:
            while True:
                start = time.perf_counter()
                batch = [p for p, _ in promised]
                probe_list = [(hosts[p.src].netns, hosts[p.dst].ip, p.port, p.proto) for p in batch]
                if canary:
                    probe_list.append((dp.canary_client.netns, dp.canary.ip, canary[0], "tcp"))
                raw = dp.lab.agent.probe(probe_list, ROUND_TIMEOUT)
                end = time.perf_counter()
                answers = [self._read(p, r) for p, r in zip(batch, raw, strict=False)]
                # a denial must be a denial: confirm at once with a longer probe (a slow connect
                # under load would read as a window)
                slow = [
                    i for i, ((_, want), r) in enumerate(zip(promised, raw, strict=False)) if want and r == "timeout"
                ]
                if slow:
                    again = dp.lab.agent.probe([probe_list[i] for i in slow], CONFIRM_TIMEOUT)
                    for i, r in zip(slow, again, strict=True):
                        answers[i] = answers[i] or self._read(batch[i], r)
                out.append(Sample(start - t0, end - t0, answers))
                times.append(end - start)
                rep.probes += len(batch)
                if canary is None and proc.poll() is not None:
                    rep.helm_s = time.perf_counter() - t0
                    if proc.returncode != 0:
                        raise LabError(f"{shlex.join(argv)}:\n{proc.stderr.read() if proc.stderr else ''}")
                    canary = (dp.write_canary(), time.perf_counter())
                elif canary and raw[-1] == "canary":
                    if tail == 0:
                        rep.enforced_ms = (time.perf_counter() - canary[1]) * 1000
                    tail += 1
                    if tail > TAIL_ROUNDS:
                        break
                if time.perf_counter() - t0 > HELM_TIMEOUT:
                    raise LabError(f"{step.name}: helm and the engine did not finish within {HELM_TIMEOUT}s")
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        rep.rounds = len(out)
        rep.round_ms = statistics.median(times) * 1000 if times else 0.0
        return out

    @staticmethod
    def _read(p: Probe, r: str) -> bool:
        if r == p.dst:
            return True
        if r in ("refused", "timeout"):
            return False
        raise LabError(f"probe {p}: unexpected answer {r!r}")

    def _probe(self, probes: Sequence[Probe], hosts: dict[str, Host], timeout: float) -> list[bool]:
        raw = self.dp.lab.agent.probe([(hosts[p.src].netns, hosts[p.dst].ip, p.port, p.proto) for p in probes], timeout)
        return [self._read(p, r) for p, r in zip(probes, raw, strict=True)]


@dataclass
class Sample:
    start: float
    end: float
    answers: list[bool]


def windows(promised: Sequence[tuple[Probe, bool]], samples: Sequence[Sample]) -> list[Window]:
    """Per promised probe, each run of rounds that answered unlike its steady answer."""
    out = []
    for i, (p, want) in enumerate(promised):
        run: list[int] = []
        for j, s in enumerate([*samples, None]):
            if s is not None and s.answers[i] != want:
                run.append(j)
                continue
            if run:
                first, last = samples[run[0]], samples[run[-1]]
                lo = (last.end - first.start) * 1000
                prev_end = samples[run[0] - 1].end if run[0] > 0 else first.start
                next_start = samples[last_j + 1].start if (last_j := run[-1]) + 1 < len(samples) else last.end
                out.append(Window(p, want, len(run), lo, (next_start - prev_end) * 1000))
                run = []
    return out


# ---------------------------------------------------------------- the run


@dataclass
class EngineRun:
    engine: Engine
    reports: list[StepReport]
    seconds: float = 0.0

    def summary(self) -> list[str]:
        promised = [r for r in self.reports if r.step.promised]
        apart = [r for r in self.reports if not r.step.promised]
        newly = [w for r in promised for w in r.windows if w.newly]

        def longest(ws: Sequence[Window]) -> str:
            return f"longest {max(w.high_ms for w in ws):.0f} ms" if ws else "none"

        apart_ws = [w for r in apart for w in r.windows]
        return [
            f"lifecycle on {self.engine.title}: {sum(r.probes for r in promised)} probes during "
            f"{len(promised)} transitions: {sum(r.denied for r in promised)} documented flows denied, "
            f"{sum(r.opened for r in promised)} undocumented flows allowed",
            f"  apart: {len(apart)} installs and uninstalls (helm creates and deletes in parallel), "
            f"{sum(r.probes for r in apart)} probes: {sum(w.expected for w in apart_ws)} documented flows "
            f"denied, {sum(not w.expected for w in apart_ws)} undocumented allowed ({longest(apart_ws)}); "
            f"pods newly under the chart's policies in an upgrade: {len(newly)} flows ({longest(newly)})",
        ]

    @property
    def failed(self) -> bool:
        return any(r.unsteady or (r.step.promised and r.counted) for r in self.reports)


def run_engine(
    engine: Engine,
    chain: Sequence[Step],
    repeat: int = 1,
    show: Callable[[StepReport], None] | None = None,
    dp: Dataplane | None = None,
) -> EngineRun:
    """The chain `repeat` times on one engine, in `dp` or a lab of its own."""
    reports = []
    with tempfile.TemporaryDirectory(prefix="epnp-lifecycle-") as tmp, contextlib.ExitStack() as stack:
        if dp is None:
            pod_range = choose_pod_range(o for s in chain for o in state_objs(s.after))
            dp = stack.enter_context(Dataplane.start(pod_range, engine))
        dp.kube.apply_policies([], keep=in_canary_namespace)  # the release's alone
        runner = Runner(dp, Path(tmp))
        t0 = time.perf_counter()
        for _ in range(repeat):
            for step in chain:
                rep = runner.run(step)
                reports.append(rep)
                if show:
                    show(rep)
        return EngineRun(engine, reports, time.perf_counter() - t0)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=CHOICES, default="both")
    ap.add_argument("--repeat", type=int, default=1, help="run the whole chain this many times per engine")
    ap.add_argument("--short", action="store_true", help="the short chain `make test` runs")
    ap.add_argument("--from-version", default="0.1.0", help="the previous chart version to upgrade from ('' for none)")
    args = ap.parse_args(argv)
    engine_list = engines(args.engine)
    why = unavailable(engine_list)
    if why:
        print(f"dataplane-lifecycle: cannot run here: {why}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="epnp-old-chart-") as old_dir:
        old = old_chart(args.from_version, Path(old_dir)) if args.from_version else None
        chain = steps(old, args.short)
        runs = []
        for e in engine_list:
            print(f"{e.title}: {len(chain)} steps x {args.repeat}", flush=True)
            runs.append(run_engine(e, chain, args.repeat, lambda r: print("\n".join(r.lines()), flush=True)))
    print()
    for run in runs:
        print("\n".join(run.summary()))
    return 1 if any(r.failed for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
