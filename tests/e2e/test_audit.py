"""`make audit` on the real kube-apiserver: the chart installed with the real helm, the product's pods
created through the API as IBM's operators label them (tests/audit/scenario.py), and the audit run
from a snapshot file and from the live API server (a token kubeconfig and a client-certificate one).

Scenarios, each in a namespace and helm release of its own, all with deny-all on but one:
  healthy       every pod where the values say, labelled as the values say: no finding
  mislabelled   the FlinkDeployment is called my-flink while the values still say
                ibm-eventautomation-flink: its pods carry app.kubernetes.io/instance=my-flink
  open          the same without deny-all: the renamed deployment's pods are open to everyone
  edited        a healthy install, then by hand: 6124 removed from -jobmanager-rpc-blob and the `from`
                removed from -taskmanager
Expected findings come from the scenario (its pods, the page's Flink rows), never from the audit.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.audit.scenario import FLINK, page_flink_flows, product_pods
from tools import paths
from tools.audit import cli
from tools.audit.findings import Finding, audit
from tools.audit.kubeconfig import ApiError, load
from tools.audit.snapshot import load as load_snapshot
from tools.e2e.client import ApiError as ClientError
from tools.e2e.controlplane import ControlPlane, signed_cert
from tools.e2e.kube import Kube

DENY_ALL = {"denyAllIngress": {"enabled": True}}
# The page's Flink objects of one deployment: named after it (facts: objects; the chart's group table).
FLINK_POLICIES = ("-jobmanager", "-jobmanager-rpc-blob", "-jobmanager-stream-authoring", "-taskmanager")
_ips = (f"100.64.{i // 250}.{i % 250 + 2}" for i in itertools.count())


@dataclass
class Install:
    release: str
    namespace: str
    values: Path


@pytest.fixture(scope="module")
def kube(controlplane: ControlPlane) -> Kube:
    k = Kube(controlplane.client, "127.0.0.1")
    try:
        k.create_node()  # pods name a node; nothing runs them
    except ClientError as e:
        if e.status != 409:
            raise
    return k


def helm(cp: ControlPlane, home: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBE"))}
    env.update(KUBECONFIG=str(cp.kubeconfig), HELM_CONFIG_HOME=str(home / "c"), HELM_CACHE_HOME=str(home / "k"))
    proc = subprocess.run([str(paths.HELM), *args], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def install(
    cp: ControlPlane, kube: Kube, tmp: Path, name: str, values: dict[str, Any], flink_instance: str = FLINK
) -> Install:
    ns = f"audit-{name}"
    kube.namespace(ns, {})
    for pod, labels in product_pods(flink_instance).items():
        kube.pod(f"{ns}/{pod}", ns, pod, labels, next(_ips))
    f = tmp / f"{name}-values.json"
    f.write_text(json.dumps(values))
    helm(cp, tmp, "install", name, str(paths.CHART), "--namespace", ns, "--values", str(f), "--wait=false")
    return Install(name, ns, f)


def snapshot_file(cp: ControlPlane, path: Path) -> Path:
    """What `kubectl get namespaces,pods,networkpolicies -A -o yaml` prints: one List, each item with
    its kind (the API server's lists leave it out; kubectl puts it back)."""
    items = []
    kinds = [("v1", "Namespace", "namespaces"), ("v1", "Pod", "pods")]
    kinds.append(("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"))
    for api, kind, plural in kinds:
        base = "/api/v1" if api == "v1" else f"/apis/{api}"
        items += [{"apiVersion": api, "kind": kind, **o} for o in cp.client.call("GET", f"{base}/{plural}")["items"]]
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))  # JSON is YAML
    return path


def cert_kubeconfig(cp: ControlPlane, d: Path, cert: str = "client", server_name: str = "") -> Path:
    """A kubeconfig authenticating by client certificate, its files beside it (relative paths)."""
    d.mkdir(parents=True, exist_ok=True)
    for name in ("ca.crt", f"{cert}.crt", f"{cert}.key"):
        (d / name).write_bytes((cp.pki / name).read_bytes())
    cluster: dict[str, Any] = {"server": cp.url, "certificate-authority": "ca.crt"}
    if server_name:
        cluster["tls-server-name"] = server_name
    cfg = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "cert",
        "clusters": [{"name": "cp", "cluster": cluster}],
        "users": [{"name": "cert", "user": {"client-certificate": f"{cert}.crt", "client-key": f"{cert}.key"}}],
        "contexts": [{"name": "cert", "context": {"cluster": "cp", "user": "cert"}}],
    }
    (d / "config").write_text(json.dumps(cfg))
    return d / "config"


def findings_both_ways(cp: ControlPlane, tmp: Path, inst: Install) -> list[Finding]:
    """The audit from a snapshot file and from the live server: the same findings, word for word."""
    values = json.loads(inst.values.read_text())
    from_file = audit(load_snapshot(snapshot_file(cp, tmp / f"{inst.release}.json")), values, inst.release)
    live = audit(cli.read_live(str(cp.kubeconfig), None), values, inst.release)
    assert from_file.findings == live.findings
    assert from_file.namespace == inst.namespace  # from helm's annotations
    return live.findings


def of(findings: list[Finding], kind: str) -> list[Finding]:
    return [f for f in findings if f.kind == kind]


def flows(findings: list[Finding]) -> set[tuple[str, str, str, str]]:
    return {fl for f in findings for fl in f.flows}


@pytest.fixture(scope="module")
def healthy(controlplane: ControlPlane, kube: Kube, tmp_path_factory: pytest.TempPathFactory) -> Install:
    return install(controlplane, kube, tmp_path_factory.mktemp("healthy"), "healthy", DENY_ALL)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out + err


def test_healthy_install_has_no_finding_from_a_snapshot_and_live(
    controlplane: ControlPlane, healthy: Install, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cp, common = controlplane, ["--values", str(healthy.values), "--release", healthy.release]
    snap = snapshot_file(cp, tmp_path / "cluster.json")
    rc, out = run(capsys, "--snapshot", str(snap), *common)
    assert (rc, out.splitlines()[-1]) == (0, "audit: 0 findings"), out
    ns = healthy.namespace
    assert f"  EP instance: {ns}/my-ep-ibm-ep-0, {ns}/my-ep-ibm-ep-1\n" in out
    assert (
        f"  Flink deployment {FLINK}: jobmanager {ns}/{FLINK}-jobmanager-0; "
        f"taskmanagers {ns}/{FLINK}-taskmanager-1-1, {ns}/{FLINK}-taskmanager-1-2\n"
    ) in out
    # live: the control plane's token kubeconfig (CA data), then a client certificate (CA file)
    rc, out = run(capsys, "--kubeconfig", str(cp.kubeconfig), *common)
    assert (rc, out.splitlines()[-1]) == (0, "audit: 0 findings"), out
    cert = cert_kubeconfig(cp, tmp_path / "cert", server_name="localhost")  # the serving cert names it
    rc, out = run(capsys, "--kubeconfig", str(cert), *common)
    assert (rc, out.splitlines()[-1]) == (0, "audit: 0 findings"), out


def test_make_audit(controlplane: ControlPlane, healthy: Install, tmp_path: Path) -> None:
    """The targets as the README gives them, SNAPSHOT= and KUBECONFIG=."""
    snap = snapshot_file(controlplane, tmp_path / "cluster.json")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "KUBECONFIG")}
    for source in (f"SNAPSHOT={snap}", f"KUBECONFIG={controlplane.kubeconfig}"):
        proc = subprocess.run(
            [
                "make",
                "--no-print-directory",
                "-C",
                str(paths.ROOT),
                "audit",
                source,
                f"VALUES={healthy.values}",
                f"RELEASE={healthy.release}",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0 and proc.stdout.rstrip().endswith("audit: 0 findings"), proc.stdout + proc.stderr
    proc = subprocess.run(["make", "-C", str(paths.ROOT), "audit"], env=env, capture_output=True, text=True)
    assert proc.returncode == 2 and "usage: make audit SNAPSHOT=" in proc.stderr


def test_mislabelled_flink_deployment(
    controlplane: ControlPlane, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = install(controlplane, kube, tmp_path, "mislabelled", DENY_ALL, flink_instance="my-flink")
    found = findings_both_ways(controlplane, tmp_path, inst)
    ns = inst.namespace
    renamed = [f"{ns}/{p}" for p in product_pods("my-flink") if p.startswith("my-flink")]
    assert sorted(f.subject for f in of(found, "selects-nothing")) == [f"{ns}/{FLINK}{s}" for s in FLINK_POLICIES]
    assert sorted(f.subject for f in of(found, "cut-off")) == sorted(renamed)
    assert all(f.policies == (f"{ns}/default-deny-ingress",) for f in of(found, "cut-off"))
    # under deny-all, every page Flink row into the renamed deployment's pods is blocked, and nothing else
    assert flows(of(found, "blocked")) == {(s, d, "TCP", str(p)) for s, d, p in page_flink_flows(ns, "my-flink")}
    assert sorted(f.subject for f in of(found, "blocked")) == sorted(renamed)
    assert of(found, "beyond") == []
    rc, out = run(
        capsys, "--kubeconfig", str(controlplane.kubeconfig), "--values", str(inst.values), "--release", "mislabelled"
    )
    assert rc == 1 and out.splitlines()[-1] == f"audit: {len(found)} findings"
    assert (
        f"Flink deployment my-flink ({', '.join(sorted(renamed))}) is not in the values' flink.deployments"
        in " ".join(out.split())
    )


def test_mislabelled_without_deny_all_is_open(controlplane: ControlPlane, kube: Kube, tmp_path: Path) -> None:
    inst = install(controlplane, kube, tmp_path, "open", {}, flink_instance="my-flink")
    found = findings_both_ways(controlplane, tmp_path, inst)
    ns = inst.namespace
    renamed = sorted(f"{ns}/{p}" for p in product_pods("my-flink") if p.startswith("my-flink"))
    assert sorted(f.subject for f in of(found, "selects-nothing")) == [f"{ns}/{FLINK}{s}" for s in FLINK_POLICIES]
    assert sorted(f.subject for f in of(found, "beyond")) == renamed
    page = page_flink_flows(ns, "my-flink")
    for f in of(found, "beyond"):
        # nothing selects them: every TCP port from every pod and address the page gives no port to it
        everyone = ({f"{ns}/{p}" for p in product_pods("my-flink")} | {"any address outside the cluster"}) - {f.subject}
        undocumented = everyone - {src for src, dst, _ in page if dst == f.subject}
        assert {s for s, _, proto, port in f.flows if (proto, port) == ("TCP", "*")} >= undocumented
        assert {s for s, _, proto, _ in f.flows if proto == "TCP"} >= everyone and f.policies == ()
        assert {("UDP", "*"), ("SCTP", "*"), ("other protocols", "*")} <= f.ports
    assert of(found, "cut-off") == [] and of(found, "blocked") == []


def test_policies_edited_by_hand(controlplane: ControlPlane, kube: Kube, tmp_path: Path) -> None:
    inst = install(controlplane, kube, tmp_path, "edited", DENY_ALL)
    ns, c = inst.namespace, controlplane.client
    base = f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies"
    blob = c.call("GET", f"{base}/{FLINK}-jobmanager-rpc-blob")
    blob["spec"]["ingress"][0]["ports"] = [p for p in blob["spec"]["ingress"][0]["ports"] if p["port"] != 6124]
    c.call("PUT", f"{base}/{FLINK}-jobmanager-rpc-blob", blob)
    tm = c.call("GET", f"{base}/{FLINK}-taskmanager")
    del tm["spec"]["ingress"][0]["from"]
    c.call("PUT", f"{base}/{FLINK}-taskmanager", tm)

    found = findings_both_ways(controlplane, tmp_path, inst)
    flink = [f"{ns}/{p}" for p in product_pods() if p.startswith(FLINK)]
    # -jobmanager-rpc-blob's 6124 between every two pods of the deployment: blocked
    assert flows(of(found, "blocked")) == {(s, d, "TCP", "6124") for s in flink for d in flink if s != d}
    # the taskmanagers' 8081, documented from the deployment's pods, now from everyone else too
    tms = sorted(p for p in flink if "taskmanager" in p)
    assert sorted(f.subject for f in of(found, "beyond")) == tms
    others = {f"{ns}/{p}" for p in product_pods()} - set(flink)
    for f in of(found, "beyond"):
        assert f.ports == {("TCP", "8081")} and f.policies == (f"{ns}/{FLINK}-taskmanager",)
        assert f.peers >= others | {"any address outside the cluster"} and not f.peers & set(flink)
    assert of(found, "selects-nothing") == [] and of(found, "cut-off") == []


def test_live_errors_are_sentences(
    controlplane: ControlPlane, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Wrong server name, wrong token, a user without rights: exit 2, saying which."""
    cp = controlplane
    wrong_name = cert_kubeconfig(cp, tmp_path / "name", server_name="not-the-apiserver.example")
    with pytest.raises(ApiError, match="the server's certificate does not verify"):
        load([wrong_name]).get("/version")
    cfg = json.loads(cp.kubeconfig.read_text())
    cfg["users"][0]["user"]["token"] = "wrong"
    (tmp_path / "bad-token").write_text(json.dumps(cfg))
    rc, out = run(capsys, "--kubeconfig", str(tmp_path / "bad-token"))
    assert rc == 2 and "the API server does not accept these credentials (HTTP 401)" in out, out
    # a certificate the server trusts, of a user in no group: authenticated, not authorised
    signed_cert(cp.pki, "nobody", "/CN=nobody", "extendedKeyUsage=clientAuth")
    with pytest.raises(ApiError, match=r"forbidden to GET /api/v1/namespaces \(HTTP 403\)"):
        cli.read_live(str(cert_kubeconfig(cp, tmp_path / "nobody", cert="nobody")), None)


@pytest.fixture(autouse=True, scope="module")
def _uninstall(controlplane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    home = tmp_path_factory.mktemp("uninstall")
    for release in ("healthy", "mislabelled", "open", "edited"):
        subprocess.run(
            [str(paths.HELM), "uninstall", release, "--namespace", f"audit-{release}"],
            env={**os.environ, "KUBECONFIG": str(controlplane.kubeconfig), "HELM_CONFIG_HOME": str(home)},
            capture_output=True,
            timeout=120,
        )
