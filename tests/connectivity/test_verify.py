"""`make verify`: the table, the differences from the page, the SVG, and the live-cluster comparison."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.connectivity import verify
from tools.connectivity.documented import page_fixed_port_keys, page_fixed_ports
from tools.paths import MAX_VALUES, examples
from tools.render import render
from tools.values import get


def run(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    values: dict[str, Any] | None = None,
    live: list[dict[str, Any]] | None = None,
) -> tuple[int, str]:
    argv = ["--svg", str(tmp_path / "g.svg")]
    if values is not None:
        (tmp_path / "values.yaml").write_text(yaml.safe_dump(values))
        argv += ["--values", str(tmp_path / "values.yaml")]
    if live is not None:
        (tmp_path / "live.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": live}))
        argv += ["--live", str(tmp_path / "live.yaml")]
    rc = verify.main(argv)
    return rc, capsys.readouterr().out


def as_live(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What `kubectl get netpol -o yaml` adds to what was applied."""
    for o in objs:
        o["metadata"].update(uid="0b5e", resourceVersion="42", generation=1, creationTimestamp="2026-01-01T00:00:00Z")
    return objs


def test_defaults_pass_print_the_table_and_write_the_svg(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out = run(capsys, tmp_path)
    assert rc == 0, out
    assert "anyone -> flink-operator" in out and "443,9443" in out
    assert "flink-operator -> jobmanager" in out and "Differences from the documented flows:\n  none" in out
    assert "anyone -> unrelated" in out and "not selected by any policy" in out
    svg = (tmp_path / "g.svg").read_bytes()
    assert svg.lstrip().startswith(b"<?xml")
    # nca's flows drawn by workload group: no deny-all, so the other pods are open to anyone
    assert b"EP operator" in svg and b"any port, any protocol" in svg and b"default-deny-ingress" not in svg


def test_deny_all_closes_the_unrelated_pod(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out = run(capsys, tmp_path, {"denyAllIngress": {"enabled": True}})
    assert rc == 0, out
    assert "anyone -> unrelated" not in out


def test_extra_port_fails_and_names_the_flow(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The page fixes the EP UI on 8443: a values file that moves it opens an undocumented port."""
    rc, out = run(capsys, tmp_path, {"eventProcessing": {"instance": {"ports": {"ui": 9443}}}})
    assert rc == 1
    assert "allowed but not expected (extra):\n    anyone -> ep-instance-1: 9443" in out
    assert "expected but blocked (missing):\n    anyone -> ep-instance-1: 8443" in out
    assert "UNDOCUMENTED 9443; BLOCKED documented 8443" in out


def test_beyond_the_page_is_documented(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """taskmanagerRpcData's ports are in the facts (beyondPage.ingress): documented, not a failure."""
    rc, out = run(capsys, tmp_path, {"flink": {"taskmanagerRpcData": {"enabled": True}}})
    assert rc == 0, out
    assert "jobmanager -> taskmanager-1" in out and "6121,6122,6123,6124,8081" in out


EXAMPLES = examples()


# The EP 1.1-1.5 page's webhooks: only the API server reaches them (its address range, or OpenShift's
# host-network namespaces), as nca computes from the render.
WEBHOOK_CALLERS = {"ep-1.5-kubernetes": "api-server", "ep-1.5-openshift": "host-network"}


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_worked_examples_pass(capsys: pytest.CaptureFixture[str], tmp_path: Path, example: Path) -> None:
    rc = verify.main(["--svg", str(tmp_path / "g.svg"), "--values", str(example)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "Differences from the documented flows:\n  none" in out
    assert f"Graph: {tmp_path / 'g.svg'}" in out  # drawn, nca's empty labels worked around (to_svg)
    if caller := WEBHOOK_CALLERS.get(example.stem):
        for webhook, port in (("ep-operator", 8443), ("flink-operator", 9443)):
            sources = re.findall(rf"^(.+?) -> {webhook} +(\S+) ", out, flags=re.M)
            assert sources == [(caller, str(port))], out


def test_the_1_5_examples_are_checked_for_their_webhook_callers() -> None:
    assert set(WEBHOOK_CALLERS) == {p.stem for p in EXAMPLES if p.stem.startswith("ep-1.5-")}


def test_examples_are_the_three_of_the_readme() -> None:
    assert {p.stem for p in EXAMPLES} >= {"openshift", "egress-locked", "three-flink-deployments"}


def test_max_values_pass_but_for_the_page_fixed_ports_they_move(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """ci/max-values.yaml turns everything on: with the ports the page fixes put back, verify passes
    and lists the extra rules' flows apart; as it is, it fails on exactly those ports (decision
    customisable-ports)."""
    mx = yaml.safe_load(MAX_VALUES.read_text())
    kept = page_fixed_ports(mx)
    # Each port the max config moves off the page's number: both numbers may show (extra, blocked).
    keys = [k for k in page_fixed_port_keys() if get(mx, k) != get(kept, k)]
    assert keys, "the max config moves no page-fixed port: this test would check nothing"
    moved = {str(get(v, k)) for k in keys for v in (mx, kept)}
    rc, out = run(capsys, tmp_path, kept)
    assert rc == 0, out
    assert "ep-operator -> extra-peer-7: 8200  (extra, from eventProcessing.operator.egress.extraEgress[0])" in out
    assert "(extra, from flink.taskmanager.extraIngress[0])" in out
    rc = verify.main(["--svg", str(tmp_path / "g.svg"), "--values", str(MAX_VALUES)])
    out = capsys.readouterr().out
    assert rc == 1
    diff = out[out.index("Differences from the documented flows:") :]
    listed: set[str] = set()
    for line in diff.splitlines()[1:]:
        if "->" in line and not line.strip().endswith(":"):
            ports = set(line.rsplit(": ", 1)[1].split(","))
            assert ports <= moved, line
            listed |= ports
    assert {str(get(mx, k)) for k in keys} <= listed  # each moved port is reported


def test_an_extra_rule_does_not_fail_but_is_listed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Decision extra-rules-in-verify."""
    rc, out = run(
        capsys,
        tmp_path,
        {
            "flink": {
                "taskmanager": {
                    "extraIngress": [
                        {"from": [{"podSelector": {"matchLabels": {"app": "debugger"}}}], "ports": [{"port": 5005}]}
                    ]
                }
            }
        },
    )
    assert rc == 0, out
    assert "extra-peer -> taskmanager-1: 5005  (extra, from flink.taskmanager.extraIngress[0])" in out


def test_custom_flink_ports_are_documented(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out = run(capsys, tmp_path, {"flink": {"ports": {"rest": 18081}}, "denyAllIngress": {"enabled": True}})
    assert rc == 0, out
    assert "ep-instance-1 -> jobmanager" in out and "18081" in out


def test_render_error_is_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    values = _write(tmp_path, {"flink": {"metrics": {"enabled": True}}})  # no port
    rc = verify.main(["--svg", str(tmp_path / "g.svg"), "--values", str(values)])
    err = capsys.readouterr().err
    assert rc == 2 and "helm could not render" in err and "/flink/metrics" in err


def _write(tmp_path: Path, values: dict[str, Any]) -> Path:
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def test_live_cluster_same_as_chart(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out = run(capsys, tmp_path, live=as_live(render()))
    assert rc == 0, out
    assert "same objects" in out and "the same set of policies" in out


def test_live_cluster_missing_a_policy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    live = [o for o in as_live(render()) if o["metadata"]["name"] != "ibm-eventautomation-flink-taskmanager"]
    rc, out = run(capsys, tmp_path, live=live)
    assert rc == 1
    assert "missing from the cluster: event-processing/ibm-eventautomation-flink-taskmanager" in out
    assert "not semantically equivalent" in out


def test_live_cluster_with_a_widened_policy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    live = as_live(render())
    tm = next(o for o in live if o["metadata"]["name"] == "ibm-eventautomation-flink-taskmanager")
    del tm["spec"]["ingress"][0]["from"]
    rc, out = run(capsys, tmp_path, live=live)
    assert rc == 1
    assert "differs: event-processing/ibm-eventautomation-flink-taskmanager" in out
    assert "Removed connections" in out  # installing the chart would take the widened access away


def test_live_cluster_as_the_api_server_lists_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The API server's own NetworkPolicyList (`kubectl get --raw`, any client's GET) has no `kind` on its
    items: read as the same policies, not reported all "missing"."""
    items = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in as_live(render())]
    (tmp_path / "raw.yaml").write_text(
        yaml.safe_dump({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicyList", "items": items})
    )
    rc = verify.main(["--svg", str(tmp_path / "g.svg"), "--live", str(tmp_path / "raw.yaml")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "same objects" in out and "missing from the cluster" not in out


def test_live_differences_read_as_yaml(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A port removed and a `from` removed by hand: each (peer, port) that only one side admits, in the
    YAML it stands for, never a Python repr."""
    live = as_live(render())
    tm = next(o for o in live if o["metadata"]["name"] == "ibm-eventautomation-flink-taskmanager")
    del tm["spec"]["ingress"][0]["from"]
    blob = next(o for o in live if o["metadata"]["name"] == "ibm-eventautomation-flink-jobmanager-rpc-blob")
    blob["spec"]["ingress"][0]["ports"] = [p for p in blob["spec"]["ingress"][0]["ports"] if p["port"] != 6124]
    rc, out = run(capsys, tmp_path, live=live)
    assert rc == 1
    flink = (
        "{app.kubernetes.io/instance: ibm-eventautomation-flink, "
        "app.kubernetes.io/managed-by: ibm-eventautomation-flink-operator, "
        "app.kubernetes.io/name: ibm-eventautomation-flink}"
    )
    assert (
        "  differs: event-processing/ibm-eventautomation-flink-jobmanager-rpc-blob\n"
        "    ingress only in the chart:\n"
        f"      - from: {{podSelector: {{matchLabels: {flink}}}}}\n"
        "        port: TCP 6124\n"
    ) in out
    assert (
        "  differs: event-processing/ibm-eventautomation-flink-taskmanager\n"
        "    ingress only in the cluster:\n"
        "      - from: anywhere\n"
        "        port: TCP 8081\n"
        "    ingress only in the chart:\n"
        f"      - from: {{podSelector: {{matchLabels: {flink}}}}}\n"
        "        port: TCP 8081\n"
    ) in out
    assert "frozenset" not in out and "('" not in out


def test_live_selector_and_types_side_by_side(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    live = as_live(render())
    op = next(o for o in live if o["metadata"]["name"] == "ibm-ep-operator")
    op["spec"]["podSelector"] = {"matchLabels": {"app": "my-operator"}}
    op["spec"]["policyTypes"] = ["Ingress", "Egress"]
    rc, out = run(capsys, tmp_path, live=live)
    assert rc == 1
    assert (
        "  differs: event-processing/ibm-ep-operator\n"
        "    podSelector:\n"
        "      cluster: {matchLabels: {app: my-operator}}\n"
        "      chart:   {matchLabels: {app.kubernetes.io/instance: ibm-ep-operator, "
        "app.kubernetes.io/name: ibm-event-processing}}\n"
        "    policyTypes:\n"
        "      cluster: Egress, Ingress\n"
        "      chart:   Ingress\n"
    ) in out


def test_live_input_that_is_not_kubernetes_objects(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "live.yaml").write_text("- just\n- a list\n")
    rc = verify.main(["--svg", str(tmp_path / "g.svg"), "--live", str(tmp_path / "live.yaml")])
    assert rc == 2 and "document 1: not a Kubernetes object" in capsys.readouterr().err
