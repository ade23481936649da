"""The kubeconfig reader, file by file (tests/e2e/test_audit.py connects with it to a real API server):
what kubectl reads, where it looks for relative files, which entry wins, and every setting it does
not support refused by name."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.audit.kubeconfig import KubeconfigError, kubeconfig_paths, load
from tools.e2e.controlplane import make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A CA, and a client certificate and key it signed (the e2e control plane's, made afresh)."""
    d = tmp_path_factory.mktemp("pki")
    make_pki(d)
    yield d


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def config(cluster: dict[str, Any], user: dict[str, Any], name: str = "c", current: str | None = "c") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        **({"current-context": current} if current else {}),
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
    }


def write(path: Path, cfg: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg))
    return path


def ca_names(ctx: ssl.SSLContext) -> list[str]:
    return [str(dict(x[0] for x in c["subject"])["commonName"]) for c in ctx.get_ca_certs()]  # type: ignore[misc]


def test_token_and_ca_data(tmp_path: Path, pki: Path) -> None:
    f = write(
        tmp_path / "kc",
        config(
            {"server": "https://127.0.0.1:6443", "certificate-authority-data": b64(pki / "ca.crt")}, {"token": "t0k"}
        ),
    )
    conn = load([f])
    assert conn.server == "https://127.0.0.1:6443" and conn.base_path == ""
    assert conn.headers == {"Authorization": "Bearer t0k"}
    assert conn.ssl_context is not None and conn.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert ca_names(conn.ssl_context) == ["epnp-e2e-ca"]  # that CA only, not the system's
    assert conn.description == "context c (user c, https://127.0.0.1:6443)"


def test_files_are_relative_to_the_kubeconfig_that_names_them(tmp_path: Path, pki: Path) -> None:
    (tmp_path / "conf" / "certs").mkdir(parents=True)
    for name in ("ca.crt", "client.crt", "client.key"):
        (tmp_path / "conf" / "certs" / name).write_bytes((pki / name).read_bytes())
    (tmp_path / "conf" / "token").write_text("from-file\n")
    f = write(
        tmp_path / "conf" / "kc",
        config(
            {"server": "https://localhost:6443/k8s/clusters/c-1/", "certificate-authority": "certs/ca.crt"},
            {"client-certificate": "certs/client.crt", "client-key": "certs/client.key", "tokenFile": "token"},
        ),
    )
    conn = load([f])
    assert conn.base_path == "/k8s/clusters/c-1"  # a proxy's path prefix stays in front of every GET
    assert conn.headers == {"Authorization": "Bearer from-file"}
    assert conn.ssl_context is not None and ca_names(conn.ssl_context) == ["epnp-e2e-ca"]


def test_client_certificate_data(tmp_path: Path, pki: Path) -> None:
    f = write(
        tmp_path / "kc",
        config(
            {"server": "https://127.0.0.1:1", "certificate-authority-data": b64(pki / "ca.crt")},
            {"client-certificate-data": b64(pki / "client.crt"), "client-key-data": b64(pki / "client.key")},
        ),
    )
    conn = load([f])
    assert conn.headers == {} and conn.ssl_context is not None  # the certificate is the credential


def test_a_certificate_that_does_not_match_its_key(tmp_path: Path, pki: Path) -> None:
    f = write(
        tmp_path / "kc",
        config(
            {"server": "https://127.0.0.1:1"},
            {"client-certificate-data": b64(pki / "client.crt"), "client-key-data": b64(pki / "apiserver.key")},
        ),
    )
    with pytest.raises(KubeconfigError, match="user c: client-certificate and client-key do not load"):
        load([f])


def test_kubeconfig_list_first_entry_and_first_current_context_win(tmp_path: Path) -> None:
    a = write(tmp_path / "a", config({"server": "https://a.example:6443"}, {"token": "a"}, name="shared", current=None))
    b = write(
        tmp_path / "b", config({"server": "https://b.example:6443"}, {"token": "b"}, name="shared", current="shared")
    )
    paths = kubeconfig_paths(f"{a}:{tmp_path / 'absent'}:{b}")
    conn = load(paths)  # current-context from b (a sets none); the entries from a, which names them first
    assert conn.server == "https://a.example:6443" and conn.headers["Authorization"] == "Bearer a"


def test_kubeconfig_paths_default_to_the_environment_then_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path}/x:{tmp_path}/y")
    assert kubeconfig_paths() == [tmp_path / "x", tmp_path / "y"]
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert kubeconfig_paths() == [tmp_path / ".kube" / "config"]
    assert kubeconfig_paths("~/kc") == [tmp_path / "kc"]


def test_context_by_name(tmp_path: Path) -> None:
    cfg = config({"server": "https://a.example"}, {"token": "a"}, name="a")
    other = config({"server": "https://b.example"}, {"token": "b"}, name="b")
    for section in ("clusters", "users", "contexts"):
        cfg[section] += other[section]
    f = write(tmp_path / "kc", cfg)
    assert load([f], "b").server == "https://b.example"
    with pytest.raises(KubeconfigError, match=r"no context 'c' in .*\(it has: a, b\)"):
        load([f], "c")


def test_insecure_skip_tls_verify(tmp_path: Path, pki: Path) -> None:
    f = write(
        tmp_path / "kc", config({"server": "https://x.example", "insecure-skip-tls-verify": True}, {"token": "t"})
    )
    ctx = load([f]).ssl_context
    assert ctx is not None and ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
    both = config(
        {
            "server": "https://x.example",
            "insecure-skip-tls-verify": True,
            "certificate-authority-data": b64(pki / "ca.crt"),
        },
        {"token": "t"},
    )
    with pytest.raises(KubeconfigError, match="certificate-authority and insecure-skip-tls-verify"):
        load([write(tmp_path / "kc2", both)])


@pytest.mark.parametrize(
    "user, message",
    [
        ({"exec": {"command": "aws"}}, "user c: `exec` (an exec credential plugin) is not supported"),
        ({"auth-provider": {"name": "oidc"}}, "user c: `auth-provider` (an auth provider) is not supported"),
        ({"username": "admin", "password": "x"}, "user c: `username` (basic authentication) is not supported"),
        ({"as": "someone"}, "user c: `as` (impersonation) is not supported"),
        ({"client-certificate-data": "bm90LWEta2V5"}, "user c: client-key(-data) missing beside the other"),
        ({"client-key-data": "not base64!"}, "user c: client-key-data is not base64"),
        ({"tokenFile": "absent-token"}, "user c: tokenFile"),
    ],
)
def test_unsupported_or_broken_users_are_refused_by_key(tmp_path: Path, user: dict[str, Any], message: str) -> None:
    f = write(tmp_path / "kc", config({"server": "https://x.example"}, user))
    with pytest.raises(KubeconfigError) as e:
        load([f])
    assert message in str(e.value) and str(f) in str(e.value)


@pytest.mark.parametrize(
    "cluster, message",
    [
        ({"server": "127.0.0.1:6443"}, "cluster c: server '127.0.0.1:6443' is not an http(s) URL"),
        ({}, "cluster c: server '' is not an http(s) URL"),
        ({"server": "https://x.example", "proxy-url": "http://proxy:3128"}, "cluster c: proxy-url is not supported"),
        (
            {"server": "https://x.example", "certificate-authority-data": "bm90IGEgY2VydA=="},
            "certificate-authority is not a PEM",
        ),
        ({"server": "https://x.example", "certificate-authority": "absent.crt"}, "cluster c: certificate-authority"),
    ],
)
def test_broken_clusters_are_refused_by_key(tmp_path: Path, cluster: dict[str, Any], message: str) -> None:
    with pytest.raises(KubeconfigError) as e:
        load([write(tmp_path / "kc", config(cluster, {"token": "t"}))])
    assert message in str(e.value)


def test_no_file_no_context_and_dangling_references(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="no kubeconfig file"):
        load([tmp_path / "absent"])
    no_current = write(tmp_path / "kc", config({"server": "https://x.example"}, {"token": "t"}, current=None))
    with pytest.raises(KubeconfigError, match="no current-context"):
        load([no_current])
    dangling = config({"server": "https://x.example"}, {"token": "t"})
    dangling["contexts"][0]["context"]["user"] = "nobody"
    with pytest.raises(KubeconfigError, match="context c: user 'nobody' is not defined"):
        load([write(tmp_path / "kc3", dangling)])
    (tmp_path / "list").write_text("- a\n- b\n")
    with pytest.raises(KubeconfigError, match="not a kubeconfig"):
        load([tmp_path / "list"])
