"""`make explain` (tools/connectivity/explain.py): why one connection is allowed or denied, by the
policies and rules responsible, both ends counted; cross-checked against nca's connectivity map and
its own --explain. Expected policies and ports come from the facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import facts
from tools.connectivity import explain
from tools.connectivity.engine import Scenario, analyze
from tools.connectivity.flows import ANY_PORT, Port
from tools.paths import EXAMPLES
from tools.scenarios import DENY_ALL_ON

DENY: dict[str, Any] = DENY_ALL_ON
EGRESS_LOCKED = yaml.safe_load((EXAMPLES / "egress-locked.yaml").read_text())


def policy(switch: str) -> str:
    (name,) = facts.switches()[switch]
    return name


def row(target: str) -> dict[str, Any]:
    return next(r for r in facts.load()["ingress"] if r["target"] == target and r["origin"] == "anywhere")


def run(capsys, tmp_path: Path, values: dict[str, Any] | None, *argv: str) -> tuple[int, list[str], str]:
    args = list(argv)
    if values is not None:
        (tmp_path / "v.yaml").write_text(yaml.safe_dump(values))
        args += ["--values", str(tmp_path / "v.yaml")]
    rc = explain.main(args)
    out, err = capsys.readouterr()
    return rc, out.splitlines(), err


def test_the_ep_operator_webhook_is_allowed_by_its_policy(capsys, tmp_path) -> None:
    r = row("ep-operator")
    rc, out, _ = run(capsys, tmp_path, None, "--from", "outside", "--to", "ep-operator", "--port", str(r["port"]))
    assert rc == 0
    assert out == [
        f"outside -> ep-operator: {r['type']} {r['port']}",
        f"allowed by {policy('deployOperatorNetworkPolicy')} (rule: anywhere --> EP operator: validating webhook)",
    ]


def test_a_pod_only_the_deny_all_selects_is_denied_by_it(capsys, tmp_path) -> None:
    _, out, _ = run(capsys, tmp_path, DENY, "--from", "outside", "--to", "unrelated", "--port", "80")
    deny = policy("denyAllIngress.enabled")
    assert out == [
        "outside -> unrelated: TCP 80",
        f"denied: unrelated is isolated by {deny}, and no rule admits outside on TCP 80",
        "  unrelated admits nothing",
    ]


def test_a_denied_flow_into_a_product_pod_names_every_policy_selecting_it(capsys, tmp_path) -> None:
    """unrelated -> the EP instance's Kafka administration port: its own policy admits only EP pods."""
    _, out, _ = run(capsys, tmp_path, DENY, "--from", "unrelated", "--to", "ep-instance-1", "--port", "7000")
    assert out[1] == (
        f"denied: ep-instance-1 is isolated by {policy('denyAllIngress.enabled')}, "
        f"{policy('deployNetworkPolicies')}, and no rule admits unrelated on TCP 7000"
    )
    assert out[2] == "  ep-instance-1's ingress rules (none admits this):"
    assert f"    {policy('deployNetworkPolicies')} (rule: anywhere --> EP instance: " in out[3]


def test_no_policy_selects_the_destination(capsys, tmp_path) -> None:
    _, out, _ = run(capsys, tmp_path, None, "--from", "outside", "--to", "unrelated", "--port", "80")
    assert out[1] == "allowed: no policy selects unrelated"


def test_egress_counts_too(capsys, tmp_path) -> None:
    """The egress-locked example: an EP pod reaches DNS by its egress rule, nothing else outside."""
    _, out, _ = run(
        capsys, tmp_path, EGRESS_LOCKED, "--from", "ep-instance-1", "--to", "dns", "--port", "53", "--protocol", "udp"
    )
    assert out == [
        "ep-instance-1 -> dns: UDP 53",
        "allowed by ibm-ep-egress (rule: EP instance --> cluster DNS) for ep-instance-1's egress; "
        "no policy selects dns",
    ]
    _, out, _ = run(capsys, tmp_path, EGRESS_LOCKED, "--from", "ep-instance-1", "--to", "outside", "--port", "80")
    assert out[1] == (
        "denied: ep-instance-1's egress is isolated by ibm-ep-egress, and no rule lets it reach outside on TCP 80"
    )


def test_both_ends_when_both_deny(capsys, tmp_path) -> None:
    _, out, _ = run(capsys, tmp_path, EGRESS_LOCKED, "--from", "ep-instance-1", "--to", "unrelated", "--port", "80")
    denied = [ln for ln in out if ln.startswith("denied: ")]
    assert [d.split(" is isolated")[0] for d in denied] == ["denied: unrelated", "denied: ep-instance-1's egress"]


def test_names_as_make_verify_prints_them(capsys, tmp_path) -> None:
    rc, out, _ = run(
        capsys, tmp_path, None, "--from", "outside", "--to", "ep-operator@event-processing", "--port", "8443"
    )
    assert rc == 0 and out[0] == "outside -> ep-operator: TCP 8443"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "kafka-client", "--to", "ep-operator", "--port", "8443"], "FROM=kafka-client: no such workload"),
        (["--from", "outside", "--to", "ep-operator", "--port", "http"], "PORT=http: a port number"),
        (["--from", "outside", "--to", "ep-operator", "--port", "70000"], "PORT=70000: a port number"),
        (["--from", "outside", "--to", "ep-operator", "--port", "1", "--protocol", "icmp"], "PROTOCOL=ICMP: one of"),
        (["--from", "unrelated", "--to", "unrelated", "--port", "1"], "both unrelated"),
    ],
)
def test_bad_questions_say_what_is_wrong(capsys, tmp_path, argv, message) -> None:
    rc, out, err = run(capsys, tmp_path, None, *argv)
    assert rc == 2 and out == [] and message in err


def test_unknown_names_list_the_valid_ones(capsys, tmp_path) -> None:
    _, _, err = run(capsys, tmp_path, None, "--from", "nope", "--to", "ep-operator", "--port", "1")
    valid = err.split("valid: ")[1].strip().split(", ")
    assert {"ep-operator", "ep-instance-1", "jobmanager", "taskmanager-1", "unrelated", "outside"} <= set(valid)


def test_outside_when_the_values_name_every_address(capsys, tmp_path) -> None:
    everything = {
        "eventProcessing": {
            "operator": {"extraIngress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 22}]}]}
        }
    }
    rc, out, _ = run(capsys, tmp_path, everything, "--from", "outside", "--to", "ep-operator", "--port", "22")
    assert rc == 0 and out[0] == "extra -> ep-operator: TCP 22"
    assert "the values' CIDRs name every address" in out[1]
    assert out[2] == "allowed by ibm-ep-operator (rule: eventProcessing.operator.extraIngress)"


def test_nca_explain_is_printed_on_request(capsys, tmp_path) -> None:
    _, out, _ = run(capsys, tmp_path, DENY, "--from", "unrelated", "--to", "jobmanager", "--port", "8081", "--nca")
    text = "\n".join(out)
    assert "network-config-analyzer --explain" in text
    assert f"{policy('denyAllIngress.enabled')}: line " in text and "templates/zz-deny-all-ingress.yaml" in text


# ---------------------------------------------------------------- against nca, connection by connection


def _holds(flow_port: Port, port: int) -> bool:
    if flow_port == ANY_PORT:
        return True
    if isinstance(flow_port, int):
        return flow_port == port
    lo, hi = str(flow_port).split("-")
    return int(lo) <= port <= int(hi)


@pytest.mark.parametrize("values", [DENY, EGRESS_LOCKED], ids=["deny-all", "egress-locked"])
def test_every_answer_is_ncas(values) -> None:
    """Between every two workloads, on every port nca opens into the destination and one it opens to
    none: the verdict is nca's connectivity map; between pods, an allowed connection's policies are
    among those nca's --explain says allow the pair, a denied one's isolating policies among those it
    says select either end (when it finds the pair unconnected on every port)."""
    e = explain.Explainer(values)
    flows = analyze([Scenario(e.manifest.policies, e.cluster, "map")])[0].flows("TCP")
    names = [w.name for w in e.cluster.all_workloads()]
    asks = []
    for s in names:
        for d in names:
            if s == d or (e.cluster.workload(s).is_outside and e.cluster.workload(d).is_outside):
                continue
            ports = {f.port for f in flows if f.dst == d and isinstance(f.port, int)} | {1}
            asks += [e.ask(s, d, p) for p in sorted(ports)]
    answers = e.answer(asks)
    assert len(answers) > 100
    for a in answers:
        allowed = any(f.src == a.src and f.dst == a.dst and _holds(f.port, a.port) for f in flows)
        assert a.allowed == allowed, str(a)
        nca = a.explanation.nca
        if nca.connected is None:  # an address outside: nca's explainer names no policies (driver)
            assert e.cluster.workload(a.src).is_outside or e.cluster.workload(a.dst).is_outside
            continue
        if a.allowed:
            assert nca.connected is not False, str(a)
            assert {r.policy_name for r in a.ingress.admitted_by} <= set(nca.dst), (str(a), nca.text)
            assert {r.policy_name for r in a.egress.admitted_by} <= set(nca.src), (str(a), nca.text)
        elif nca.connected is False:
            assert set(a.ingress.isolated_by) <= set(nca.dst) and set(a.egress.isolated_by) <= set(nca.src), (
                str(a),
                nca.text,
            )
