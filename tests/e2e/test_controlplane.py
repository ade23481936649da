"""The control plane itself: real version, create/read back, server-side dry-run."""

from __future__ import annotations

from typing import Any

import pytest

from tools.e2e.client import ApiError
from tools.e2e.controlplane import ControlPlane, dry_run

NS = "smoke"


def netpol(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"podSelector": {"matchLabels": {"app": name}}, **spec},
    }


def test_version_is_the_pinned_release(controlplane: ControlPlane) -> None:
    v = controlplane.client.call("GET", "/version")
    assert v["gitVersion"] == "v1.37.2" and (v["major"], v["minor"]) == ("1", "37")


def test_create_and_read_back(controlplane: ControlPlane) -> None:
    c = controlplane.client
    c.ensure_namespace(NS)
    obj = netpol("web", ingress=[{"ports": [{"port": 8443}]}])
    c.create(obj)
    got = c.get("networking.k8s.io/v1", "NetworkPolicy", "web", NS)
    # The server's defaults are applied: the protocol and the policy type.
    assert got["spec"] == {
        "podSelector": {"matchLabels": {"app": "web"}},
        "ingress": [{"ports": [{"port": 8443, "protocol": "TCP"}]}],
        "policyTypes": ["Ingress"],
    }
    assert [p["metadata"]["name"] for p in c.network_policies(NS)] == ["web"]
    # server_view predicts exactly what was stored, though "web" exists already.
    assert c.server_view(obj)["spec"] == got["spec"]
    c.call("DELETE", "/apis/networking.k8s.io/v1/namespaces/smoke/networkpolicies/web")
    assert c.network_policies(NS) == []


def test_missing_namespace_is_rejected(controlplane: ControlPlane) -> None:
    obj = netpol("x")
    obj["metadata"]["namespace"] = "does-not-exist"
    with pytest.raises(ApiError) as e:
        controlplane.client.create(obj)
    assert e.value.status == 404


def test_dry_run_accepts_valid_and_stores_nothing(controlplane: ControlPlane) -> None:
    objs = [
        netpol("a", ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]),
        netpol("b", egress=[{"ports": [{"port": 6123, "endPort": 6124, "protocol": "TCP"}]}], policyTypes=["Egress"]),
    ]
    assert controlplane.dry_run(objs) == []
    assert dry_run(objs) == []  # module-level helper finds the session's control plane
    assert controlplane.client.network_policies(NS) == []


@pytest.mark.parametrize(
    "mutate, expect",
    [
        (lambda s: s.update(ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}]), "cidr"),
        (lambda s: s.update(ingress=[{"ports": [{"port": 9000, "endPort": 8000}]}]), "endPort"),
        (lambda s: s.update(ingress=[{"ports": [{"port": 70000}]}]), "port"),
        (lambda s: s.update(policyTypes=["Sideways"]), "policyTypes"),
        (lambda s: s["podSelector"].update(matchLabels={"bad key!": "v"}), "matchLabels"),
        (lambda s: s.update(ingres=[]), "unknown field"),  # Strict field validation
    ],
)
def test_dry_run_reports_what_schemas_miss(controlplane: ControlPlane, mutate: Any, expect: str) -> None:
    bad = netpol("bad")
    mutate(bad["spec"])
    errors = controlplane.dry_run([netpol("good"), bad])
    assert len(errors) == 1 and errors[0].startswith(f"NetworkPolicy/{NS}/bad:"), errors
    assert expect in errors[0]
