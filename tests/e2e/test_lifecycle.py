"""The chart installed for real: helm install, upgrade, rollback and uninstall
against a real kube-apiserver, with what the server stores compared to the render.

Each helm major runs the whole lifecycle as one test, because every step
starts from the state the previous one left. Each run has namespaces of its own,
so what one leaves behind (on failure) can't be mistaken for the other's.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import paths
from tools.e2e.controlplane import ControlPlane
from tools.render import render

Key = tuple[str, str]  # (namespace, name)
OPERATOR_POLICY = "ibm-ep-operator"  # values.yaml: eventProcessing.operator.policyName

# Values files a user might upgrade to; whatever the chart ships as examples
# is picked up, plus the test suite's "everything on, everywhere" file.
EXAMPLES = [*paths.examples(), paths.MAX_VALUES]


class Helm:
    """One helm binary pointed at the control plane, with a private config/cache
    so nothing from the user's ~/.config/helm or environment leaks in."""

    def __init__(self, binary: Path, cp: ControlPlane, home: Path) -> None:
        self.binary = binary
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBE"))}
        self.env.update(
            KUBECONFIG=str(cp.kubeconfig),
            HELM_CONFIG_HOME=str(home / "config"),
            HELM_CACHE_HOME=str(home / "cache"),
            HELM_DATA_HOME=str(home / "data"),
        )

    def __call__(self, *args: str) -> str:
        proc = subprocess.run([str(self.binary), *args], env=self.env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"{self.binary.name} {' '.join(args)}:\n{proc.stderr}"
        return proc.stdout


def isolate(values: Any, prefix: str) -> Any:
    """values with every explicit namespace prefixed, so each run has its own."""
    if isinstance(values, dict):
        return {
            k: (
                prefix + v
                if k == "namespace" and isinstance(v, str) and v
                else [prefix + n for n in v]
                if k in ("namespaces", "exceptNamespaces", "denyAllNamespaces") and isinstance(v, list)
                else isolate(v, prefix)
            )
            for k, v in values.items()
        }
    if isinstance(values, list):
        return [isolate(v, prefix) for v in values]
    return values


def write_values(tmp: Path, name: str, values: dict[str, Any]) -> Path:
    f = tmp / f"{name}.json"
    f.write_text(json.dumps(values))  # JSON is YAML; helm reads it as a values file
    return f


def key(obj: dict[str, Any]) -> Key:
    return obj["metadata"]["namespace"], obj["metadata"]["name"]


def installed(cp: ControlPlane, release: str) -> dict[Key, dict[str, Any]]:
    """The NetworkPolicies the server holds for this release, in any namespace."""
    return {
        key(p): p
        for p in cp.client.network_policies()
        if p["metadata"].get("annotations", {}).get("meta.helm.sh/release-name") == release
    }


def assert_matches_render(cp: ControlPlane, release: str, rendered: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """The server holds exactly the rendered policies: same set of (namespace, name),
    each spec equal to what the server makes of the rendered one (its defaults
    applied, via a dry run), and every rendered label present."""
    want = {key(o): o for o in rendered if o["kind"] == "NetworkPolicy"}
    assert len(want) == len(rendered), "the chart renders only NetworkPolicies"
    have = installed(cp, release)
    assert sorted(have) == sorted(want)
    for k, obj in want.items():
        assert have[k]["spec"] == cp.client.server_view(obj)["spec"], k
        # No defaulting hides a difference the other way round: the rendered spec
        # is stored as written.
        assert _subset(obj["spec"], have[k]["spec"]), k
        labels = have[k]["metadata"].get("labels", {})
        assert labels.items() >= obj["metadata"].get("labels", {}).items(), k
    return have


def _subset(small: Any, big: Any) -> bool:
    if isinstance(small, dict):
        return isinstance(big, dict) and all(k in big and _subset(v, big[k]) for k, v in small.items())
    if isinstance(small, list):
        return isinstance(big, list) and len(small) == len(big) and all(map(_subset, small, big))
    return bool(small == big)


def namespaces_of(objs: list[dict[str, Any]]) -> set[str]:
    return {o["metadata"]["namespace"] for o in objs}


@pytest.fixture(params=["helm", "helm3"])
def helm(
    request: pytest.FixtureRequest, controlplane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Helm]:
    binary = paths.HELM if request.param == "helm" else paths.HELM3
    yield Helm(binary, controlplane, tmp_path_factory.mktemp(request.param))


def test_lifecycle(helm: Helm, controlplane: ControlPlane, tmp_path: Path) -> None:
    cp, c = controlplane, controlplane.client
    prefix = f"{helm.binary.name}-"  # "helm-" / "helm3-": this run's namespaces
    release, ns = "epnp", f"{prefix}release"
    common = [release, str(paths.CHART), "--namespace", ns]
    c.ensure_namespace(ns)  # the chart renders explicit namespaces; they must exist
    touched: set[str] = {ns}

    try:
        # 1. install with defaults
        defaults = render({}, release=release, namespace=ns)
        helm("install", *common)
        first = assert_matches_render(cp, release, defaults)
        assert (ns, OPERATOR_POLICY) in first

        # 2. upgrade with the operator policy off: exactly that one goes, the
        #    others stay the same objects (same uid), untouched.
        off = render({"deployOperatorNetworkPolicy": False}, release=release, namespace=ns)
        helm("upgrade", *common, "--set", "deployOperatorNetworkPolicy=false")
        second = assert_matches_render(cp, release, off)
        assert set(first) - set(second) == {(ns, OPERATOR_POLICY)} and set(second) < set(first)
        assert all(second[k]["metadata"]["uid"] == first[k]["metadata"]["uid"] for k in second)

        # 3. rollback to the install: the operator policy is back, as rendered.
        helm("rollback", release, "1", "--namespace", ns)
        assert_matches_render(cp, release, defaults)

        # 4. upgrade to each example's values (other namespaces, more policies).
        for example in EXAMPLES:
            values = isolate(yaml.safe_load(example.read_text()), prefix)
            objs = render(values, release=release, namespace=ns)
            for n in namespaces_of(objs) - touched:
                c.ensure_namespace(n)
            touched |= namespaces_of(objs)
            helm("upgrade", *common, "--values", str(write_values(tmp_path, example.stem, values)))
            assert_matches_render(cp, release, objs)

        # 5. uninstall: no NetworkPolicy anywhere this release has been, and no
        #    release record left.
        helm("uninstall", release, "--namespace", ns)
        assert installed(cp, release) == {}
        for n in sorted(touched):
            assert c.network_policies(n) == [], n
        secrets = c.list_objects("v1", "Secret", ns)
        assert [s["metadata"]["name"] for s in secrets if s.get("type") == "helm.sh/release.v1"] == []
    finally:
        # A failed step must not leave a release behind for the next test.
        subprocess.run(
            [str(helm.binary), "uninstall", release, "--namespace", ns], env=helm.env, capture_output=True, timeout=120
        )


def test_two_ep_instances_install_side_by_side(helm: Helm, controlplane: ControlPlane, tmp_path: Path) -> None:
    """Decision several-instances: one release per EP instance in one namespace. The second, from
    examples/second-instance.yaml, installs beside the first with no acknowledgement and no warning,
    and the server holds each release's render."""
    cp = controlplane
    prefix = f"{helm.binary.name}-"
    ns = f"{prefix}instances"
    cp.client.ensure_namespace(ns)
    first_values = {"eventProcessing": {"instance": {"name": "main"}}, "denyAllIngress": {"enabled": True}}
    second_values = yaml.safe_load((paths.EXAMPLES / "second-instance.yaml").read_text())
    try:
        helm(
            "install",
            "first",
            str(paths.CHART),
            "--namespace",
            ns,
            "--values",
            str(write_values(tmp_path, "first", first_values)),
        )
        notes = helm(
            "install",
            "second",
            str(paths.CHART),
            "--namespace",
            ns,
            "--values",
            str(paths.EXAMPLES / "second-instance.yaml"),
        )
        assert "WARNING" not in notes and "acknowledge" not in notes
        first = assert_matches_render(cp, "first", render(first_values, release="first", namespace=ns))
        second = assert_matches_render(cp, "second", render(second_values, release="second", namespace=ns))
        assert not set(first) & set(second)
        # Each instance's policy selects its own pods only.
        selects = {
            k[1]: p["spec"]["podSelector"]["matchLabels"].get("app.kubernetes.io/instance")
            for k, p in {**first, **second}.items()
        }
        assert (selects["main-ibm-ep"], selects["analytics-ibm-ep"]) == ("main", "analytics")
    finally:
        for release in ("second", "first"):
            subprocess.run(
                [str(helm.binary), "uninstall", release, "--namespace", ns],
                env=helm.env,
                capture_output=True,
                timeout=120,
            )
