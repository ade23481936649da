"""The chart's policies on real dataplanes: kube-router v2.1.0 and Calico v3.31.0's felix, each in
network namespaces, probed with real TCP and UDP connections; per engine three answers per probe
(documented, nca, the engine), then the engines compared probe by probe (four answers).

One lab per engine for the module, one after the other (`dp` is parametrized by engine, so pytest
runs every test of one engine, then every test of the next; the lab moves pytest's main thread into
its node namespace, where other modules' control planes would not be reachable). Tests of one
engine's behaviour take `dp` indirectly with that engine only. Skipped with the reason when not
root or the lab's tools are missing; EPNP_REQUIRE_E2E=1 (CI) turns the skip into a failure.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_dataplane_host import host_state
from tools.connectivity.engine import Result, Scenario, analyze
from tools.connectivity.intervals import contains
from tools.e2e.answers import CaseReport, Probe, compare_engines
from tools.e2e.cases import Case, Prepared, coverage_cases, prepare
from tools.e2e.dataplane import Dataplane, in_canary_namespace, unavailable
from tools.e2e.engines import ENGINES, engines
from tools.e2e.kube import choose_pod_range
from tools.e2e.lab import Host
from tools.e2e.truth_table import (
    ENGINES_LINE,
    SUMMARY_LINE,
    case_line,
    disagreement_text,
    engines_summary,
    engines_text,
    summary,
    truth_table,
)
from tools.paths import CHART, ROOT
from tools.render import NAMESPACE
from tools.scenarios import FULL_PAGE, GROUP_SWITCHES
from tools.values import put

REQUIRE = os.environ.get("EPNP_REQUIRE_E2E") == "1"
WHY = unavailable(engines("both"))
pytestmark = pytest.mark.skipif(
    WHY is not None and not REQUIRE, reason=f"dataplane lab unavailable: {WHY} (EPNP_REQUIRE_E2E=1 fails instead)"
)

KR, CALICO = "kube-router", "calico"
CASE_IDS = [c.id for c in coverage_cases()]
REPORTS: dict[str, dict[str, CaseReport]] = {e: {} for e in ENGINES}  # engine -> case id -> report


# the lifecycle's two renders, and a Kafka layout that would meet kube-router bug (b) in one rule
INSTALL: dict[str, Any] = {"denyAllIngress": {"enabled": True}}
UPGRADE: dict[str, Any] = {
    **INSTALL,
    "deployOperatorNetworkPolicy": False,
    "acknowledge": {"denyAllWithoutProductPolicies": True},
}
KAFKA_EXCEPT: dict[str, Any] = {
    "eventProcessing": {
        "instance": {
            "egress": {
                "enabled": True,
                "kafka": {
                    "ports": [9092],
                    "to": [{"cidr": "172.16.0.0/12", "except": ["172.16.1.0/24"]}, {"cidr": "172.16.0.0/16"}],
                },
            }
        }
    }
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Prepared, Result]]:
    """Every case of the module rendered and given to nca in one batch (one nca process)."""
    cases = [
        *coverage_cases(),
        Case("install", INSTALL),
        Case("upgrade", UPGRADE),
        Case("kafka cidrs with an except", KAFKA_EXCEPT),
    ]
    for mutant, (template, pattern, repl, _) in MUTANTS.items():
        chart = _mutant(tmp_path_factory.mktemp(mutant), template, pattern, repl)
        cases.append(Case(f"mutant {mutant}", FULL_PAGE, chart))  # deny-all + metrics
    ready, fut, pool = prepare(cases)
    try:
        return {p.case.id: (p, r) for p, r in zip(ready, fut.result(), strict=True)}
    finally:
        pool.shutdown()


@pytest.fixture(scope="module")
def coverage(prepared: dict[str, tuple[Prepared, Result]]) -> dict[str, tuple[Prepared, Result]]:
    return {c: prepared[c] for c in CASE_IDS}


@pytest.fixture(scope="module", params=list(ENGINES))
def dp(request: pytest.FixtureRequest, prepared: dict[str, tuple[Prepared, Result]]) -> Iterator[Dataplane]:
    """The module's lab on one engine. Its teardown also checks the host is as it was before
    ("after a run"; tests/e2e/test_dataplane_host.py covers failing and interrupted runs)."""
    if WHY is not None:
        pytest.fail(f"EPNP_REQUIRE_E2E=1 but the dataplane lab is unavailable: {WHY}", pytrace=False)
    before = host_state()
    pod_range = choose_pod_range(o for p, _ in prepared.values() for o in p.objs)
    with Dataplane.start(pod_range, ENGINES[request.param]) as d:
        yield d
    assert host_state() == before, f"the lab on {request.param} changed the host"


def on(engine: str) -> pytest.MarkDecorator:
    """A test of one engine's behaviour: `dp` on that engine only."""
    return pytest.mark.parametrize("dp", [engine], indirect=True)


def _report(rep: CaseReport) -> str:
    return f"{case_line(rep)}\n{disagreement_text([rep])}\n\n{truth_table(rep)}"


# ---------------------------------------------------------------- throwaway pods


class Pods:
    """Throwaway pods (and outside hosts) for one test, removed afterwards."""

    def __init__(self, dp: Dataplane) -> None:
        self.dp = dp
        self.keys: list[str] = []
        self.hosts: dict[str, Host] = {}
        self.policies: list[tuple[str, str]] = []

    def add(
        self, name: str, ns: str | None, labels: dict[str, str], ports: list[int], named: Sequence[dict[str, Any]] = ()
    ) -> None:
        key = f"t:{name}"
        if ns is None:  # a host outside the cluster
            (h,) = self.dp.lab.add_hosts([(key, None)])
        else:
            h = self.dp.add_pod(key, ns, name, labels, ports=named)
        self.keys.append(key)
        self.hosts[name] = h
        self.dp.lab.agent.serve(h, name, ports, [])

    def policy(self, ns: str, name: str, spec: dict[str, Any]) -> None:
        self.dp.kube.c.create(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": name, "namespace": ns},
                "spec": spec,
            }
        )
        self.policies.append((ns, name))
        self.dp.sync()

    def delete_policy(self, ns: str, name: str) -> None:
        self.dp.kube.c.call("DELETE", f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/{name}")
        self.policies.remove((ns, name))
        self.dp.sync()

    def probe(self, *pairs: tuple[str, str, int]) -> list[bool]:
        """(source, destination, TCP port) -> connected. A denial may be a drop: the whole batch
        waits one timeout, and a pod's first packets may beat the engine to the pod (another watch
        stream than policies): an answer unlike the last is asked again until two agree."""

        def once() -> list[bool]:
            got = self.dp.lab.agent.probe(
                [(self.hosts[s].netns, self.hosts[d].ip, port, "tcp") for s, d, port in pairs]
            )
            return [g == d for g, (_, d, _) in zip(got, pairs, strict=True)]

        last = once()
        for _ in range(5):
            now = once()
            if now == last:
                return now
            last = now
        return last

    def remove(self) -> None:
        for ns, name in self.policies:
            self.dp.kube.c.request("DELETE", f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/{name}")
        self.dp.remove_pods(self.keys)
        self.dp.sync()


@pytest.fixture
def pods(dp: Dataplane) -> Iterator[Pods]:
    p = Pods(dp)
    try:
        yield p
    finally:
        p.remove()


# ---------------------------------------------------------------- (a) the lab enforces at all


def test_a_trivial_policy_is_enforced(pods: Pods) -> None:
    """One policy admitting app=a on TCP 80: a gets in on 80 only, c not at all; deleting the
    policy opens b again. The canary (sync) proves the engine acted, not a stale rule set."""
    for n in "abc":
        pods.add(n, "trivial", {"app": n}, [80, 81])
    pods.policy(
        "trivial",
        "b",
        {
            "podSelector": {"matchLabels": {"app": "b"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}], "ports": [{"port": 80}]}],
        },
    )
    flows = (("a", "b", 80), ("a", "b", 81), ("c", "b", 80), ("b", "c", 81))
    assert pods.probe(*flows) == [True, False, False, True]
    pods.delete_policy("trivial", "b")
    assert pods.probe(*flows) == [True, True, True, True]


# ---------------------------------------------------------------- (b, c) coverage, three ways per engine


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_case_three_ways(dp: Dataplane, coverage: dict[str, tuple[Prepared, Result]], case_id: str) -> None:
    """Every probe of the case: the page's documented flows, nca and the engine agree."""
    p, res = coverage[case_id]
    rep = dp.run_case(p.case, p.objs, p.cluster, res)
    REPORTS[dp.engine.name][case_id] = rep
    assert not rep.disagreements, _report(rep)


def _runs(engine_names: Sequence[str]) -> dict[str, list[CaseReport]]:
    missing = [f"{e}: {c}" for e in engine_names for c in CASE_IDS if c not in REPORTS[e]]
    if missing:
        (pytest.fail if REQUIRE else pytest.skip)(f"coverage cases did not all run: {missing}")
    return {e: [REPORTS[e][c] for c in CASE_IDS] for e in engine_names}


def shown(line: str) -> str:
    """A summary line as docs/dataplane.md shows it: the verdict kept, the counts that grow with the
    cases left out (so adding a case edits no document)."""
    line = re.sub(r"^dataplane: \d+ probes over \d+ cases on", "dataplane: <probes> probes over <cases> cases on", line)
    return re.sub(r"disagreements over \d+ probes$", "disagreements over <probes> probes", line)


def _quoted(line: str) -> None:
    """docs/dataplane.md, the one place that shows the summary lines, shows this run's verdict."""
    doc = ROOT / "docs" / "dataplane.md"
    assert shown(line) in doc.read_text(), f"{doc.relative_to(ROOT)} shows another line than this run's:\n{shown(line)}"


def test_coverage_summary(dp: Dataplane, capsys: pytest.CaptureFixture[str]) -> None:
    """The coverage bar, per engine: at least 1000 probes over at least 8 cases, none undocumented or
    blocked."""
    reports = _runs([dp.engine.name])[dp.engine.name]
    line = summary(reports, dp.engine.title)
    with capsys.disabled():  # the summary line is printed whatever the outcome
        print(f"\n{line}")
    m = re.fullmatch(SUMMARY_LINE, line)
    assert m, line
    n, k, _, _, u, b = m.groups()
    assert int(n) >= 1000 and int(k) >= 8 and (u, b) == ("0", "0"), line
    # every case probed egress as well as ingress, and UDP as well as TCP
    assert all(any(a.probe.proto == "udp" for a in r.answers) for r in reports)
    egress_locked = REPORTS[dp.engine.name]["example egress-locked"]
    assert any(a.probe.dst == "outside" and not a.dataplane for a in egress_locked.answers)
    _quoted(line)


@on(CALICO)  # the last engine: both have run by now
def test_engines_agree_probe_by_probe(dp: Dataplane, capsys: pytest.CaptureFixture[str]) -> None:
    """Four answers per probe (documented, nca, kube-router, felix) over every coverage case: the
    engines disagree nowhere, except where a note excuses one engine's answer (an implementation-
    defined cell, or a named kube-router defect reproduced below)."""
    runs = _runs(list(ENGINES))
    rows = compare_engines({ENGINES[e].answer: reps for e, reps in runs.items()})
    line = engines_summary(rows)
    with capsys.disabled():
        print(f"\n{line}")
    m = re.fullmatch(ENGINES_LINE, line)
    assert m and m.group(1) == "0", f"{line}\n{engines_text(rows)}"
    assert int(m.group(2)) == sum(len(r.answers) for r in runs[KR])
    # what the notes excuse is only ever a named defect or an implementation-defined cell
    assert all(
        "implementation-defined" in n or n.startswith("kube-router v2.1.0 bug") for r in rows for n in r.notes.values()
    )
    _quoted(line)


# ---------------------------------------------------------------- (d) the lifecycle, probed


def test_lifecycle_install_upgrade_rollback_uninstall(
    dp: Dataplane, prepared: dict[str, tuple[Prepared, Result]], tmp_path: Path
) -> None:
    """helm (in the node namespace, against the lab's API server) installs defaults + deny-all,
    upgrades with the EP operator's policy off (its webhook port then follows deny-all), rolls back,
    uninstalls (everything open again); after each step the probes match that step's documented
    flows, and nca agrees."""
    dp.kube.apply_policies([], keep=in_canary_namespace)
    install = INSTALL
    off: dict[str, Any] = {"denyAllIngress": {"enabled": False}}
    for sw in GROUP_SWITCHES:
        put(off, sw, False)
    (p_install, r_install), (p_upgrade, r_upgrade) = prepared["install"], prepared["upgrade"]
    r_off = analyze([Scenario([], p_install.cluster, "uninstalled")])[0]
    values = tmp_path / "install.json"
    values.write_text(json.dumps(install))
    rel = ["epnp", "--namespace", NAMESPACE]
    steps = [
        (p_install, r_install, ["install", *rel[:1], str(CHART), *rel[1:], "-f", str(values)]),
        (
            p_upgrade,
            r_upgrade,
            [
                "upgrade",
                *rel[:1],
                str(CHART),
                *rel[1:],
                "-f",
                str(values),
                "--set",
                "deployOperatorNetworkPolicy=false",
                "--set",
                "acknowledge.denyAllWithoutProductPolicies=true",
            ],
        ),
        (
            Prepared(Case("rollback", install), p_install.objs, p_install.cluster),
            r_install,
            ["rollback", "epnp", "1", "--namespace", NAMESPACE],
        ),
        (Prepared(Case("uninstall", off), [], p_install.cluster), r_off, ["uninstall", *rel]),
    ]
    seen: dict[str, CaseReport] = {}
    for p, res, argv in steps:

        def apply(argv: list[str] = argv) -> int:
            dp.helm(*argv)
            return 1  # one write: the helm command

        rep = dp.run_case(p.case, p.objs, p.cluster, res, apply=apply, also_ports_of=p_install.objs)
        seen[p.case.id] = rep
        assert not rep.disagreements, _report(rep)

    def webhook(rep: CaseReport) -> bool:
        return next(a.dataplane for a in rep.answers if a.probe == Probe("other-namespace", "ep-operator", 8443, "tcp"))

    # the step-specific flows really flipped on the dataplane
    assert [webhook(seen[s]) for s in ("install", "upgrade", "rollback", "uninstall")] == [True, False, True, True]
    unrelated_in = [a.dataplane for a in seen["uninstall"].answers if a.probe.dst == "jobmanager"]
    assert all(unrelated_in)


# ---------------------------------------------------------------- (e) the shapes kube-router v2.1.0 gets wrong
# Each shape is one scenario run on both engines. On kube-router the test asserts what it does (the
# opposite of what the NetworkPolicy API says), so a kube-router that fixes it fails the test and
# the workaround can go; code: cloudnativelabs/kube-router v2.1.0 (a7d7ac5d),
# pkg/controllers/netpol/{policy,pod}.go. On felix the test asserts the API's answer, citing why
# from Calico v3.31.0 (projectcalico/calico b1f3c43f): libcalico-go's conversion of a NetworkPolicy
# (lib/backend/k8s/conversion/conversion.go) and felix's rendering of it.

NS = "shapes"


def both_types(pods: Pods) -> list[bool]:
    """Selected pods a and b (app=x) may dial port 80 anywhere; nobody may reach them. Probes
    a -> b:80, c -> b:80, a -> c:80. The API: denied, denied, allowed."""
    pods.add("a", NS, {"app": "x"}, [80])
    pods.add("b", NS, {"app": "x"}, [80])
    pods.add("c", NS, {"app": "c"}, [80])
    pods.policy(
        NS,
        "both",
        {
            "podSelector": {"matchLabels": {"app": "x"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [{"ports": [{"port": 80}]}],
        },
    )
    return pods.probe(("a", "b", 80), ("c", "b", 80), ("a", "c", 80))


@on(KR)
def test_kube_router_both_policy_types_apply_egress_rules_to_ingress(pods: Pods) -> None:
    """(a) A policy with both types gets ONE iptables chain holding its ingress and its egress rules
    (policy.go syncNetworkPolicyChains, L117-146), and each selected pod's firewall chain jumps to it
    with no direction match (pod.go setupPodNetpolRules, `case kubeBothPolicyType`, L196-200; the
    single-type cases add `-d`/`-s` the pod). So for traffic INTO a selected pod, the egress rule
    "selected pods may dial port 80 anywhere" matches when the source is a selected pod too."""
    assert both_types(pods) == [True, False, True]


@on(CALICO)
def test_felix_both_policy_types_each_rule_in_its_direction(pods: Pods) -> None:
    """conversion.go K8sNetworkPolicyToCalico keeps the ingress and egress rules apart (Types both),
    and felix renders them into the pod's chain for traffic to it (cali-tw-, inbound policy chains
    cali-pi-) and from it (cali-fw-, cali-po-): felix/rules/endpoints.go,
    WorkloadEndpointToIptablesChains. So the API's answer."""
    assert both_types(pods) == [False, False, True]


def except_across_peers(pods: Pods) -> list[bool]:
    """One egress rule, two ipBlock peers: a /20 with a /28 `except`, and a /24 inside the /20
    covering that /28. Probes client -> an outside address in the /28. The API: allowed (the /24)."""
    pods.add("client", NS, {"app": "client"}, [80])
    pods.add("world", None, {}, [80])  # an address no pod has
    ip = ipaddress.ip_address(pods.hosts["world"].ip)

    def net(bits: int) -> str:
        return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))

    pods.policy(
        NS,
        "except",
        {
            "podSelector": {"matchLabels": {"app": "client"}},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": net(20), "except": [net(28)]}}, {"ipBlock": {"cidr": net(24)}}],
                    "ports": [{"port": 80}],
                }
            ],
        },
    )
    return pods.probe(("client", "world", 80))


@on(KR)
def test_kube_router_ipblock_except_removes_addresses_from_the_rules_other_ipblocks(pods: Pods) -> None:
    """(b) All ipBlock peers of one rule go into ONE hash:net ipset (policy.go processEgressRules,
    dstIPBlocks appended per peer, L664-688; evalIPBlockPeer L794-857 adds each `except` as a
    `nomatch` entry). ipset picks the most specific entry, so one peer's except carves its hole out
    of every other ipBlock peer of the rule too."""
    assert except_across_peers(pods) == [False]


@on(CALICO)
def test_felix_ipblock_except_stays_in_its_peer(pods: Pods) -> None:
    """conversion.go k8sRuleToCalico makes one Calico rule per peer (`for _, peer := range peers`),
    each with its own Nets and NotNets (k8sPeerToCalicoFields: the except as NotNets): the /28 is
    cut out of the /20's rule only. So the API's answer."""
    assert except_across_peers(pods) == [True]


def named_egress_without_to(pods: Pods) -> list[bool]:
    """An egress rule with the named port `web` and no `to`. Probes client -> web:8080 (its `web`),
    -> plain:8080 elsewhere (declares no `web`), -> web9090:9090 elsewhere (its `web` is 9090).
    The API: allowed, denied, allowed (each pod's own `web`)."""
    pods.add("client", NS, {"app": "client"}, [8080])
    pods.add("web", NS, {"app": "web"}, [8080], named=[{"name": "web", "containerPort": 8080}])
    pods.add("plain", f"{NS}-other", {"app": "plain"}, [8080])
    pods.add("web9090", f"{NS}-other", {"app": "web9090"}, [9090], named=[{"name": "web", "containerPort": 9090}])
    pods.policy(
        NS,
        "named",
        {
            "podSelector": {"matchLabels": {"app": "client"}},
            "policyTypes": ["Egress"],
            "egress": [{"ports": [{"port": "web"}]}],
        },
    )
    return pods.probe(("client", "web", 8080), ("client", "plain", 8080), ("client", "web9090", 9090))


@on(KR)
def test_kube_router_named_egress_port_without_to_opens_the_number_everywhere(pods: Pods) -> None:
    """(c) An egress rule with a named port and no `to` resolves the name only on pods of the
    policy's own namespace (policy.go buildNetworkPoliciesInfo, ListPodsByNamespaceAndLabels(
    policy.Namespace, ...), L640-650), then allows that NUMBER to every destination (policy.go
    processEgressRules, "to all destinations", L406-425): a pod elsewhere that names no port `web`
    is reachable on 8080; a pod elsewhere whose `web` is 9090 is not."""
    assert named_egress_without_to(pods) == [True, True, False]


@on(CALICO)
def test_felix_named_egress_port_without_to_is_each_pods_own(pods: Pods) -> None:
    """felix renders a named port as an IP set of (address, protocol, port) of the endpoints that
    declare it, filtered by the rule's selector, every endpoint with no selector
    (felix/calc/rule_scanner.go ruleToParsedRule, namedPortsToIPSets). So the API's answer."""
    assert named_egress_without_to(pods) == [True, False, True]


def unresolved_named_port(pods: Pods) -> list[bool]:
    """An ingress rule from app=client on the named port `https`, which the server does not
    declare. Probes client -> server:80, client -> server:8443, other -> server:80. The API:
    denied everywhere (the rule admits nothing)."""
    pods.add("server", NS, {"app": "server"}, [80, 8443])
    pods.add("client", NS, {"app": "client"}, [80])
    pods.add("other", NS, {"app": "other"}, [80])
    pods.policy(
        NS,
        "named-in",
        {
            "podSelector": {"matchLabels": {"app": "server"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}], "ports": [{"port": "https"}]}],
        },
    )
    return pods.probe(("client", "server", 80), ("client", "server", 8443), ("other", "server", 80))


@on(KR)
def test_kube_router_rule_of_unresolved_named_ports_matches_every_port(pods: Pods) -> None:
    """(d, met in the max config's acknowledged `port: https` extra rule; decision
    named-ports-in-extra-rules) A named port that no selected pod declares is dropped (policy.go
    processNetworkPolicyPorts), and a rule left with neither numeric nor named ports is taken for a
    rule WITHOUT ports (processIngressRules: `len(ingressRule.ports) == 0 &&
    len(ingressRule.namedPorts) == 0`): its peers get every port."""
    assert unresolved_named_port(pods) == [True, True, False]


@on(CALICO)
def test_felix_rule_of_unresolved_named_ports_admits_nothing(pods: Pods) -> None:
    """The named port's IP set (rule_scanner.go namedPortsToIPSets, filtered by the rule's
    destination: the server) holds no member when no selected endpoint declares `https`, and the
    rule matches no packet. So the API's answer."""
    assert unresolved_named_port(pods) == [False, False, False]


def test_rendered_policies_avoid_the_shapes_kube_router_gets_wrong(
    coverage: dict[str, tuple[Prepared, Result]],
) -> None:
    """No rendered policy of any coverage case (max config included) has both policy types, an
    egress rule with a named port and no `to`, or an ipBlock with `except` next to another ipBlock
    in one rule, unless the values wrote that rule themselves (extra rules)."""
    problems = []
    for cid, (p, _) in coverage.items():
        for o in p.objs:
            name, spec = f"{cid}: {o['metadata']['namespace']}/{o['metadata']['name']}", o["spec"]
            if {"Ingress", "Egress"} <= set(spec.get("policyTypes") or []):
                problems.append(f"{name}: both policy types")
            for i, rule in enumerate(spec.get("egress") or []):
                if not rule.get("to") and any(isinstance(pp.get("port"), str) for pp in rule.get("ports") or []):
                    problems.append(f"{name}: egress[{i}] named port without `to`")
            for d, side in (("ingress", "from"), ("egress", "to")):
                for i, rule in enumerate(spec.get(d) or []):
                    blocks = [pp["ipBlock"] for pp in rule.get(side) or [] if "ipBlock" in pp]
                    if len(blocks) > 1 and any(b.get("except") for b in blocks):
                        problems.append(f"{name}: {d}[{i}] ipBlock with except next to another ipBlock")
    assert not problems, "\n".join(problems)


def _kafka_rules_merged(objs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The render with the EP instance's Kafka rules (one per `kafka.to` entry) merged back into one
    rule holding every peer: the shape the chart rendered before decision kafka-rule-per-destination."""
    out = copy.deepcopy(list(objs))
    ports = [
        {"protocol": "TCP", "port": p} for p in KAFKA_EXCEPT["eventProcessing"]["instance"]["egress"]["kafka"]["ports"]
    ]
    for o in out:
        rules = o["spec"].get("egress") or []
        kafka = [r for r in rules if r.get("ports") == ports and r.get("to")]
        if len(kafka) > 1:
            merged = {"ports": ports, "to": [peer for r in kafka for peer in r["to"]]}
            at = rules.index(kafka[0])
            o["spec"]["egress"] = [*rules[:at], merged, *(r for r in rules[at:] if r not in kafka)]
            return out
    raise AssertionError("no policy with several Kafka rules in the render")


def test_kafka_cidrs_with_an_except_agree_three_ways_one_rule_per_destination(
    dp: Dataplane, prepared: dict[str, tuple[Prepared, Result]]
) -> None:
    """Decision kafka-rule-per-destination: two `kafka.to` CIDRs, one's `except` inside the other's
    CIDR. Merged into one rule (the chart's old shape, here by hand), kube-router's bug (b) blocks
    the documented Kafka flows to the hole, and exactly those, while felix agrees with the page and
    nca on every probe (the decision is needed for kube-router only); as the chart renders them (a
    rule per destination), the page, nca and the engine agree on every probe, the hole reached on
    9092, on both engines."""
    p, res = prepared["kafka cidrs with an except"]
    hole_dst = next(
        atom.name for atom in p.cluster.ips if contains(atom.intervals, int(ipaddress.ip_address("172.16.1.5")))
    )

    merged = dp.run_case(Case("kafka rules merged by hand", p.case.values), _kafka_rules_merged(p.objs), p.cluster, res)
    if dp.engine.name == KR:
        assert merged.disagreements and all(
            a.documented
            and a.nca
            and not a.dataplane
            and a.probe.port == 9092
            and a.probe.src.startswith("ep-instance")
            for a in merged.disagreements
        ), _report(merged)
        assert {a.probe.dst for a in merged.disagreements} == {hole_dst}, _report(merged)
    else:
        assert not merged.disagreements, _report(merged)

    rep = dp.run_case(p.case, p.objs, p.cluster, res)
    assert not rep.disagreements, _report(rep)
    for r in (rep, merged) if dp.engine.name != KR else (rep,):
        to_hole = [
            a
            for a in r.answers
            if a.probe.dst == hole_dst
            and a.probe.src.startswith("ep-instance")
            and a.probe.port == 9092
            and a.probe.proto == "tcp"
        ]
        assert to_hole and all(a.documented and a.nca and a.dataplane for a in to_hole), _report(r)


# ---------------------------------------------------------------- (h) the suite catches real mistakes


def _mutant(tmp_path: Path, template: str, pattern: str, replacement: str) -> Path:
    """A private copy of the chart with one template edited; fails loudly when the edit no longer
    applies (the template changed: update the pattern)."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    f = chart / "templates" / template
    text, n = re.subn(pattern, replacement, f.read_text())
    assert n == 1, f"mutation no longer applies to {template}: {pattern!r} matched {n} times"
    f.write_text(text)
    return chart


MUTANTS = {
    # the page's 2023 bug: `- ports:` as a rule of its own, so the RPC/blob ports open to everyone
    "ports-as-own-rule": (
        "flink-jobmanager-rpc-blob.yaml",
        r"\n      ports:\n",
        "\n    - ports:\n",
        [
            Probe("unrelated", "jobmanager", 6123, "tcp"),
            Probe("other-namespace", "taskmanager-1", 6124, "tcp"),
            Probe("outside", "jobmanager", 6124, "tcp"),
        ],
    ),
    # the -taskmanager policy without its `from`: the REST port open to everyone
    "taskmanager-without-from": (
        "flink-taskmanager.yaml",
        r"    - from:\n(?:        .*\n)+?      ports:\n",
        "    - ports:\n",
        [
            Probe("unrelated", "taskmanager-1", 8081, "tcp"),
            Probe("ep-operator", "taskmanager-2", 8081, "tcp"),
            Probe("outside", "taskmanager-1", 8081, "tcp"),
        ],
    ),
}


@pytest.mark.parametrize("mutant", MUTANTS)
def test_mutated_chart_fails_naming_the_flows(
    dp: Dataplane, prepared: dict[str, tuple[Prepared, Result]], mutant: str
) -> None:
    flows = MUTANTS[mutant][3]
    p, res = prepared[f"mutant {mutant}"]
    rep = dp.run_case(p.case, p.objs, p.cluster, res)
    opened = {a.probe for a in rep.undocumented_allowed}
    assert set(flows) <= opened, _report(rep)
    message = disagreement_text([rep])  # what the suite prints when a case fails
    for f in flows:
        assert re.search(
            rf"^mutant {mutant}: {f.src} -> {f.dst}: (\S+,)?{f.port}(,\S+)?: documented says denied, "
            f"nca and {dp.engine.answer} say allowed$",
            message,
            re.M,
        ), message
