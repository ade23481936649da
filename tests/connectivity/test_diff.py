"""`make diff` (tools/connectivity/diff.py): what a values change, a chart version or a live cluster's
policies open and close, one line per flow with the rule responsible. Expected flows come from the
facts (the page's ports, workloads, switches and policy names); rules are named by the chart's
`# source --> destination` comments."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import chart_history, facts
from tools.connectivity import diff
from tools.connectivity.cluster import cluster_for, union
from tools.connectivity.engine import PROTOCOL_NUMBERS
from tools.connectivity.why import ALL_PORTS
from tools.paths import ROOT
from tools.render import render
from tools.scenarios import DENY_ALL_ON, METRICS_ON, METRICS_PORT
from tools.values import effective_values

DENY: dict[str, Any] = DENY_ALL_ON
METRICS: dict[str, Any] = METRICS_ON
DENY_NO_EP_OPERATOR: dict[str, Any] = {
    **DENY,
    "deployOperatorNetworkPolicy": False,
    "acknowledge": {"denyAllWithoutProductPolicies": True},
}
LINE = re.compile(r"^(opened|closed)  (.+?) -> (.+?): (.+?)  (.+)$")


def switch_policy(switch: str) -> str:
    (name,) = facts.switches()[switch]
    return name


def webhook(target: str = "ep-operator") -> str:
    """The page's "anywhere" row into `target`, as a diff line says it: `TCP 8443`."""
    r = next(r for r in facts.load()["ingress"] if r["target"] == target and r["origin"] == "anywhere")
    return f"{r['type']} {r['port']}"


def write(tmp_path: Path, name: str, values: dict[str, Any]) -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(values))
    return p


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, list[tuple[str, ...]]]:
    rc = diff.main([str(a) for a in argv])
    out = capsys.readouterr().out
    return rc, out, [m.groups() for ln in out.splitlines() if (m := LINE.match(ln))]


def summary(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_deny_all_then_ep_operator_policy_off_closes_exactly_its_webhook(capsys, tmp_path) -> None:
    rc, out, lines = run(
        capsys, "--from", write(tmp_path, "a.yaml", DENY), "--to", write(tmp_path, "b.yaml", DENY_NO_EP_OPERATOR)
    )
    assert rc == 0, out
    assert summary(out) == "connectivity diff: 0 opened, 1 closed"
    assert lines == [
        (
            "closed",
            "anywhere",
            "ep-operator",
            webhook(),
            f"was allowed by {switch_policy('deployOperatorNetworkPolicy')} "
            "(rule: anywhere --> EP operator: validating webhook)",
        )
    ]
    assert f"removed: event-processing/{switch_policy('deployOperatorNetworkPolicy')}" in out


@pytest.mark.parametrize("base", [{}, DENY], ids=["defaults", "deny-all"])
def test_metrics_on_opens_only_the_metrics_port(capsys, tmp_path, base) -> None:
    rc, out, lines = run(
        capsys, "--from", write(tmp_path, "a.yaml", base), "--to", write(tmp_path, "b.yaml", {**base, **METRICS})
    )
    assert rc == 0, out
    assert summary(out) == "connectivity diff: 1 opened, 0 closed"
    ((kind, src, dst, what, why),) = lines
    jobmanagers = [w.name for w in cluster_for(effective_values(METRICS)).of_kind("flink-jobmanager")]
    assert (kind, src, [dst], what) == ("opened", "anywhere", jobmanagers, f"TCP {METRICS_PORT}")
    assert why.startswith(f"allowed by {switch_policy('flink.metrics.enabled')} (rule: anywhere --> jobmanager")


def test_fail_on_open_is_a_gate(capsys, tmp_path) -> None:
    a, b = write(tmp_path, "a.yaml", DENY), write(tmp_path, "b.yaml", {**DENY, **METRICS})
    assert run(capsys, "--from", a, "--to", b, "--fail-on-open")[0] == 1
    assert run(capsys, "--from", b, "--to", a, "--fail-on-open")[0] == 0  # closing only passes
    assert run(capsys, "--from", a, "--to", b)[0] == 0  # without the gate, a report


def test_deny_all_on_closes_every_pod_no_policy_selected(capsys, tmp_path) -> None:
    _, _, lines = run(capsys, "--to", write(tmp_path, "b.yaml", DENY))
    unselected = [w.name for w in cluster_for(effective_values()).workloads if w.group == "unrelated"]
    assert [(k, s, d, w) for k, s, d, w, _ in lines] == [("closed", "anywhere", u, "all traffic") for u in unselected]
    assert all(why == f"destination isolated now by {switch_policy('denyAllIngress.enabled')}" for *_, why in lines)


def test_same_values_change_nothing(capsys, tmp_path) -> None:
    rc, out, lines = run(capsys, "--from", write(tmp_path, "a.yaml", DENY), "--to", write(tmp_path, "b.yaml", DENY))
    assert (rc, lines, summary(out)) == (0, [], "connectivity diff: 0 opened, 0 closed")
    assert "no connectivity changes" in out


# ---------------------------------------------------------------- between chart versions


def test_version_commit_is_the_last_commit_of_that_version() -> None:
    commit = chart_history.version_commit("0.1.0")
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", commit], capture_output=True, text=True, check=True)
    shown = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{sha.stdout.strip()}:charts/ibm-ep-network-policies/Chart.yaml"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert yaml.safe_load(shown.stdout)["version"] == "0.1.0"
    # its child on the main line is the commit that moved the version on
    child = subprocess.run(
        ["git", "-C", str(ROOT), "rev-list", "--first-parent", "--reverse", f"{sha.stdout.strip()}..HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    nxt = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{child}:charts/ibm-ep-network-policies/Chart.yaml"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert yaml.safe_load(nxt.stdout)["version"] != "0.1.0"


@pytest.mark.parametrize("values", [{}, DENY], ids=["defaults", "deny-all"])
def test_from_the_0_1_0_chart(capsys, tmp_path, values) -> None:
    """The 0.1.0 chart, from git history, with the same values: both reproduce the page, so the
    defaults (and the deny-all) change nothing."""
    rc, out, lines = run(
        capsys, "--from-ref", chart_history.version_commit("0.1.0"), "--to", write(tmp_path, "v.yaml", values)
    )
    assert rc == 0, out
    assert out.startswith("FROM the chart at ")
    assert (lines, summary(out)) == ([], "connectivity diff: 0 opened, 0 closed")


def test_from_version_is_from_ref(capsys, tmp_path) -> None:
    v = write(tmp_path, "v.yaml", METRICS)
    by_version = run(capsys, "--from-version", "0.1.0", "--to", v)[1]
    by_ref = run(capsys, "--from-ref", chart_history.version_commit("0.1.0"), "--to", v)[1]
    assert by_version == by_ref


def test_chart_at_extracts_only_the_chart(tmp_path) -> None:
    chart, commit = chart_history.chart_at("HEAD", tmp_path)
    assert (chart / "Chart.yaml").is_file() and (chart / "templates").is_dir()
    assert [p.name for p in tmp_path.iterdir()] == ["charts"] and len(commit) == 40


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from-ref", "no-such-ref"], "FROM_REF=no-such-ref: not a commit of the clone"),
        (["--from-version", "9.9.9"], "FROM_VERSION=9.9.9: no commit of this clone has the chart at version 9.9.9"),
    ],
)
def test_bad_refs_say_which(capsys, argv, message) -> None:
    assert diff.main(argv) == 2
    assert message in capsys.readouterr().err


def test_values_the_chart_refuses_name_the_side(capsys, tmp_path) -> None:
    bad = write(tmp_path, "bad.yaml", {"flink": {"metrics": {"enabled": "yes"}}})
    assert diff.main(["--to", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"values {bad}: helm could not render the chart" in err and "/flink/metrics/enabled" in err


def test_a_file_that_is_neither(capsys, tmp_path) -> None:
    p = tmp_path / "two.yaml"
    p.write_text("a: 1\n---\nb: 2\n")
    assert diff.main(["--to", str(p)]) == 2
    assert "neither a values file" in capsys.readouterr().err


# ---------------------------------------------------------------- a live snapshot


def as_kubectl(objs: list[dict[str, Any]], typed: bool) -> dict[str, Any]:
    """`kubectl get networkpolicies -A -o yaml` (a List) or the API's own NetworkPolicyList, whose items
    carry no kind; with what the API server adds to each object, and helm to its own."""
    items = []
    for o in objs:
        o = {**o, "metadata": {**o["metadata"], "uid": "0b5e", "resourceVersion": "42", "generation": 1}}
        if (o["metadata"].get("labels") or {}).get("app.kubernetes.io/managed-by") == "Helm":
            o["metadata"]["annotations"] = {diff.HELM_RELEASE_ANNOTATION: "ibm-ep-network-policies"}
        if typed:
            o = {k: v for k, v in o.items() if k not in ("kind", "apiVersion")}
        items.append(o)
    kind = "NetworkPolicyList" if typed else "List"
    return {"apiVersion": "networking.k8s.io/v1" if typed else "v1", "kind": kind, "items": items}


@pytest.mark.parametrize("typed", [False, True], ids=["kubectl-List", "NetworkPolicyList"])
def test_live_snapshot_to_render(capsys, tmp_path, typed) -> None:
    """A cluster where someone deleted the EP operator's policy and added a policy of their own: the
    render puts the webhook rule back (named by the render's comment), and the foreign policy stays."""
    operator = switch_policy("deployOperatorNetworkPolicy")
    live = [o for o in render(DENY) if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] != operator]
    foreign = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "team-debug", "namespace": "event-processing"},
        "spec": {"podSelector": {"matchLabels": {"app": "unrelated"}}, "ingress": [{}], "policyTypes": ["Ingress"]},
    }
    snap = tmp_path / "live.yaml"
    snap.write_text(yaml.safe_dump(as_kubectl([*live, foreign], typed)))
    rc, out, lines = run(capsys, "--from", snap, "--to", write(tmp_path, "v.yaml", DENY))
    assert rc == 0, out
    assert "kept on both sides (not the chart's; helm leaves them): event-processing/team-debug" in out
    assert lines == [
        (
            "opened",
            "anywhere",
            "ep-operator",
            webhook(),
            f"allowed by {operator} (rule: anywhere --> EP operator: validating webhook)",
        )
    ]


def test_render_to_live_snapshot_names_rules_by_the_render(capsys, tmp_path) -> None:
    """The other way round: the snapshot's rules have no comments, so they borrow the render's."""
    live = [o for o in render(DENY) if o["kind"] == "NetworkPolicy"]
    snap = tmp_path / "live.yaml"
    snap.write_text(yaml.safe_dump(as_kubectl(live, typed=True)))
    _, _, lines = run(capsys, "--from", snap, "--to", write(tmp_path, "v.yaml", DENY_NO_EP_OPERATOR))
    assert [why for *_, why in lines] == [
        "was allowed by ibm-ep-operator (rule: anywhere --> EP operator: validating webhook)"
    ]


# ---------------------------------------------------------------- pods placed differently


def test_moving_a_group_shows_both_placements(capsys, tmp_path) -> None:
    """Decision diff-fixture: FROM and TO place the EP operator in different namespaces, so the fixture
    holds a pod at each; the old placement loses its policy, the new one gains it."""
    moved = {"eventProcessing": {"operator": {"namespace": "ibm-ep-operator"}}}
    _, out, lines = run(capsys, "--to", write(tmp_path, "b.yaml", moved))
    assert "FROM and TO place pods differently" in out
    assert [(k, s, d, w) for k, s, d, w, _ in lines] == [
        ("opened", "anywhere", "ep-operator@event-processing", f"all traffic but {webhook()}"),
        ("closed", "anywhere", "ep-operator@ibm-ep-operator", f"all traffic but {webhook()}"),
    ]
    policy = switch_policy("deployOperatorNetworkPolicy")
    assert [why for *_, why in lines] == [
        f"destination no longer isolated (was: {policy})",
        f"destination isolated now by {policy}",
    ]


def test_union_of_a_fixture_with_itself_is_itself() -> None:
    c = cluster_for(effective_values(DENY))
    assert union(c, c) == c


def test_union_keeps_each_role_once_and_renames_clashes() -> None:
    a = cluster_for(effective_values())
    b = cluster_for(effective_values({"eventProcessing": {"operator": {"namespace": "op"}}}))
    u = union(a, b)
    names = [w.name for w in u.workloads]
    assert "ep-operator@event-processing" in names and "ep-operator@op" in names and "ep-operator" not in names
    # the unrelated pod of event-processing is one pod, whatever each side calls it
    assert len([w for w in u.workloads if w.group == "unrelated" and w.namespace == "event-processing"]) == 1
    assert set(u.namespaces) == set(a.namespaces) | set(b.namespaces)


def test_union_cuts_the_outside_world_at_both_sides_cidrs() -> None:
    def with_cidr(cidr: str) -> dict[str, Any]:
        return {"eventProcessing": {"operator": {"webhookFrom": "cidrs", "webhookCIDRs": [cidr]}}}

    a = cluster_for(effective_values(with_cidr("10.0.0.0/8")))
    b = cluster_for(effective_values(with_cidr("10.1.0.0/16")))
    u = union(a, b)
    covered = sorted(iv for atom in u.ips for iv in atom.intervals)
    assert covered[0][0] == 0 and covered[-1][1] == 2**32 - 1
    assert sum(hi - lo + 1 for lo, hi in covered) == 2**32  # a partition
    api = [atom for atom in u.ips if "api-server" in atom.kinds]
    assert len(api) == 2 and len({atom.name for atom in u.ips}) == len(u.ips)


def test_protocol_lines_read_as_said() -> None:
    assert diff.what_str({"TCP": ((8443, 8443),)}) == "TCP 8443"
    assert diff.what_str({p: ALL_PORTS for p in [*PROTOCOL_NUMBERS, "other"]}) == "all traffic"
    assert (
        diff.what_str({"TCP": ((1, 8442), (8444, 65535)), "UDP": ALL_PORTS, "SCTP": ALL_PORTS, "other": ALL_PORTS})
        == "all traffic but TCP 8443"
    )
    assert diff.what_str({"TCP": ((53, 53),), "UDP": ((53, 53),)}) == "TCP 53, UDP 53"
