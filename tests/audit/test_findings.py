"""The audit on snapshots built here (the chart's render, annotated as helm installs it, and pods
labelled from the facts): what deny-all cuts off, which release is audited, egress beyond the
documented flows, and the command's exit codes. The three scenarios of a real install (healthy,
mislabelled, edited by hand) run on the real API server: tests/e2e/test_audit.py."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.audit.scenario import FLINK, namespace, pod, product_pods
from tools.audit import cli
from tools.audit.findings import AuditError, audit
from tools.audit.snapshot import Snapshot, from_objects
from tools.kubelist import objects
from tools.render import render
from tools.scenarios import DENY_ALL_ON

Obj = dict[str, Any]
DENY_ALL = DENY_ALL_ON


def installed(values: dict[str, Any], release: str, ns: str) -> list[Obj]:
    """The render, with the annotations helm puts on what it installs."""
    objs = render(values, release=release, namespace=ns)
    for o in objs:
        o["metadata"]["annotations"] = {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": ns}
    return objs


def cluster(ns: str, values: dict[str, Any], extra_pods: dict[str, dict[str, str]] | None = None) -> list[Obj]:
    pods = {**product_pods(), **(extra_pods or {})}
    return [namespace(ns), *(pod(ns, n, lb) for n, lb in pods.items()), *installed(values, "epnp", ns)]


def snapshot(objs: list[Obj]) -> Snapshot:
    return from_objects(objects([{"apiVersion": "v1", "kind": "List", "items": objs}]))


def kinds(findings: list[Any]) -> list[tuple[str, str]]:
    return sorted((f.kind, f.subject) for f in findings)


def test_deny_all_cuts_off_a_pod_no_allow_policy_selects() -> None:
    snap = snapshot(cluster("ep", DENY_ALL, {"batch-job": {"app": "batch"}}))
    report = audit(snap, DENY_ALL)
    assert kinds(report.findings) == [("cut-off", "ep/batch-job")]
    assert report.findings[0].policies == ("ep/default-deny-ingress",)
    assert "give it a policy of its own" in report.findings[0].text


def test_without_deny_all_the_other_pod_is_none_of_the_audits_business() -> None:
    report = audit(snapshot(cluster("ep", {}, {"batch-job": {"app": "batch"}})), {})
    assert report.findings == []


def two_releases() -> Snapshot:
    objs = []
    for release in ("a", "b"):
        ns = f"ep-{release}"
        objs += [namespace(ns), *(pod(ns, n, lb) for n, lb in product_pods().items())]
        objs += installed({}, release, ns)
    return snapshot(objs)


def test_one_release_of_several() -> None:
    """Same pod names in both namespaces: the findings and roles name each by its namespace."""
    snap = two_releases()
    with pytest.raises(AuditError, match=r"releases in several namespaces \(ep-a, ep-b\): name one"):
        audit(snap)
    report = audit(snap, release="a")
    assert report.findings == [] and report.namespace == "ep-a"
    assert {p.split("/")[0] for p in report.release_policies} == {"ep-a"}
    roles = {report.topology.show(w): r.text for w, r in report.placement.roles.items()}
    assert roles[f"ep-a/{FLINK}-jobmanager-0"] == f"a jobmanager of Flink deployment {FLINK}"
    assert not any(name.startswith("ep-b/") for name in roles)  # release b's pods play no role of a's
    with pytest.raises(
        AuditError, match=r"no NetworkPolicy of release c in the input \(the chart's releases there: a, b\)"
    ):
        audit(snap, release="c")


def test_no_release_and_no_annotation() -> None:
    with pytest.raises(AuditError, match="no NetworkPolicy of this chart in the input"):
        audit(snapshot([namespace("ep"), pod("ep", "x", {"app": "x"})]))
    objs = cluster("ep", {})
    for o in objs:
        o["metadata"].pop("annotations", None)  # `helm template | kubectl apply`: no release annotations
    with pytest.raises(AuditError, match=r"say which namespace the release is in \(NAMESPACE=, --namespace\)"):
        audit(snapshot(objs))
    assert audit(snapshot(objs), namespace="ep").findings == []


EGRESS = {"flink": {"egress": {"enabled": True}}}
DNS = {"k8s-app": "kube-dns"}  # the cluster DNS pods, as the chart's default cluster.dns selects them


def egress_cluster() -> list[Obj]:
    return [*cluster("ep", EGRESS), namespace("kube-system"), pod("kube-system", "coredns-1", DNS)]


def test_egress_as_documented_is_no_finding() -> None:
    assert audit(snapshot(egress_cluster()), EGRESS).findings == []


def test_egress_opened_by_hand_is_beyond_the_documented_flows() -> None:
    """An `egress: [{}]` rule added to the Flink egress policy lets every Flink pod dial anything."""
    objs = copy.deepcopy(egress_cluster())
    egress = next(o for o in objs if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == f"{FLINK}-egress")
    egress["spec"]["egress"].append({})
    report = audit(snapshot(objs), EGRESS)
    flink_pods = [n for n in product_pods() if n.startswith(FLINK)]
    assert sorted((f.kind, f.subject, f.direction) for f in report.findings) == sorted(
        {("beyond", f"ep/{n}", "out") for n in flink_pods}
    )
    for f in report.findings:
        assert f.policies == (f"ep/{FLINK}-egress",)
        # the DNS pod on other ports than 53, and the outside world, are among what they now reach
        assert "kube-system/coredns-1" in f.peers and "any address outside the cluster" in f.peers
        assert ("TCP", "*") not in f.ports  # DNS's 53 and the API server's ports were documented


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_the_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    good = tmp_path / "cluster.yaml"
    good.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": cluster("ep", {})}))
    rc, out, _ = run(capsys, "--snapshot", str(good))
    assert rc == 0 and out.rstrip().endswith("audit: 0 findings")
    assert f"  Flink deployment {FLINK}: jobmanager ep/{FLINK}-jobmanager-0;" in out

    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(DENY_ALL))
    rc, out, _ = run(capsys, "--snapshot", str(good), "--values", str(values))
    # installed without deny-all, audited with it: the values' deny-all is missing, nothing is blocked
    assert rc == 0 and "ep/default-deny-ingress (rendered by these values, not installed)" in out

    bad_values = tmp_path / "bad-values.yaml"
    bad_values.write_text(yaml.safe_dump({"flink": {"metrics": {"enabled": True}}}))  # no port: helm refuses
    rc, out, err = run(capsys, "--snapshot", str(good), "--values", str(bad_values))
    assert rc == 2 and out == "" and "audit: helm could not render the chart with these values" in err

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"kind": "List", "items": [pod("ep", "x", {})]}))
    rc, out, err = run(capsys, "--snapshot", str(bad))
    assert rc == 2 and out == "" and f"audit: {bad}: no Namespace in the input" in err


def test_a_deployment_in_another_namespace_than_the_values_say() -> None:
    """The FlinkDeployment runs in `flink`, the values leave it in the release's namespace: the policies
    select nothing, and say where the pods they were meant for are."""
    pods = product_pods()
    flink = {n: lb for n, lb in pods.items() if n.startswith(FLINK)}
    objs = [namespace("ep"), namespace("flink"), *installed({}, "epnp", "ep")]
    objs += [pod("ep", n, lb) for n, lb in pods.items() if n not in flink]
    objs += [pod("flink", n, lb) for n, lb in flink.items()]
    report = audit(snapshot(objs), {})
    nothing = {f.subject: f.text for f in report.findings if f.kind == "selects-nothing"}
    assert sorted(nothing) == [
        f"ep/{FLINK}{s}"
        for s in ("-jobmanager", "-jobmanager-rpc-blob", "-jobmanager-stream-authoring", "-taskmanager")
    ]
    jm = f"flink/{FLINK}-jobmanager-0"
    assert (
        f"Pods it would select, that no allow policy selects, live in other namespaces: {jm}."
        in nothing[f"ep/{FLINK}-jobmanager"]
    )
    # outside the release's namespaces a pod is not taken for the product by its labels alone
    assert not any(report.topology.pods[w].namespace == "flink" for w in report.placement.roles)


def test_a_named_port_opens_what_the_pod_declares() -> None:
    """A policy of the user's own admits `port: metrics` to the jobmanager: the engine resolves the
    name on the pod's declared container ports, as the API defines named ports."""
    jm = f"{FLINK}-jobmanager-0"
    scrape = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "scrape", "namespace": "ep"},
        "spec": {
            "podSelector": {"matchLabels": {"component": "jobmanager"}},
            "ingress": [{"ports": [{"port": "metrics"}]}],
        },
    }
    objs = [*cluster("ep", {}), scrape]
    assert audit(snapshot(objs), {}).findings == []  # no pod declares `metrics`: it opens nothing
    declared = next(o for o in objs if o["kind"] == "Pod" and o["metadata"]["name"] == jm)
    declared["spec"]["containers"][0]["ports"] = [{"name": "metrics", "containerPort": 9249, "protocol": "TCP"}]
    (found,) = audit(snapshot(objs), {}).findings
    assert (found.kind, found.subject, found.ports, found.policies) == (
        "beyond",
        f"ep/{jm}",
        {("TCP", "9249")},
        ("ep/scrape",),
    )
    assert "any address outside the cluster" in found.peers
