"""A small kubeconfig reader, for the audit's read-only GETs (no kubectl on the machine, none needed).

    conn = load(kubeconfig_paths("~/.kube/config"), context=None)   # -> Connection
    conn.get("/api/v1/pods?limit=500")                              # JSON, or ApiError

What it reads, as kubectl does: KUBECONFIG's files in order (the first file to name a cluster, user
or context wins; the first `current-context` wins), paths relative to the file that names them. A
cluster's `server`, `certificate-authority` or `certificate-authority-data` (else the system's trust
store), `insecure-skip-tls-verify`, `tls-server-name`; a user's `client-certificate(-data)` and
`client-key(-data)`, `token` or `tokenFile`. What it does not do (exec plugins, auth providers,
basic auth, impersonation, proxies) it refuses by name, rather than connect as someone else.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import os
import socket
import ssl
import tempfile
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]
UNSUPPORTED_USER = {
    "exec": "an exec credential plugin",
    "auth-provider": "an auth provider",
    "username": "basic authentication",
    "password": "basic authentication",
    "as": "impersonation",
    "as-groups": "impersonation",
    "as-uid": "impersonation",
    "as-user-extra": "impersonation",
}
ADVICE = (
    "write a kubeconfig with a token (e.g. `kubectl create token <service account>`) or a client "
    "certificate, or take a snapshot with kubectl and pass SNAPSHOT="
)


class KubeconfigError(ValueError):
    """A kubeconfig the reader cannot use; the message names the file, the entry and the key."""


class ApiError(Exception):
    """The API server could not be reached, or answered with an error; the message says which."""


def kubeconfig_paths(value: str | None = None) -> list[Path]:
    """The files a kubeconfig setting names: `value`, else $KUBECONFIG, else ~/.kube/config."""
    value = value or os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p]


@dataclass
class _Merged:
    current: str = ""
    entries: dict[str, dict[str, tuple[Obj, Path]]] = field(
        default_factory=lambda: {"clusters": {}, "users": {}, "contexts": {}}
    )


def _read(paths: Sequence[Path]) -> _Merged:
    merged = _Merged()
    read_any = False
    for path in paths:
        try:
            text = path.read_text()
        except FileNotFoundError:
            continue  # kubectl skips a listed file that does not exist
        except OSError as e:
            raise KubeconfigError(f"{path}: {e.strerror or e}") from None
        read_any = True
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            raise KubeconfigError(f"{path}: not YAML: {e}") from None
        if not isinstance(doc, dict):
            raise KubeconfigError(f"{path}: not a kubeconfig (a {type(doc).__name__})")
        merged.current = merged.current or str(doc.get("current-context") or "")
        for section, key in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            for i, entry in enumerate(doc.get(section) or []):
                if not isinstance(entry, dict) or not entry.get("name"):
                    raise KubeconfigError(f"{path}: {section}[{i}] has no name")
                body = entry.get(key) or {}
                if not isinstance(body, dict):
                    raise KubeconfigError(f"{path}: {section}[{i}] ({entry['name']}): `{key}` is not a map")
                merged.entries[section].setdefault(str(entry["name"]), (body, path))
    if not read_any:
        raise KubeconfigError(f"no kubeconfig file: {os.pathsep.join(map(str, paths)) or '(none given)'}")
    return merged


def _bytes(body: Obj, key: str, path: Path, what: str) -> bytes | None:
    """`<key>-data` (base64) or the file `<key>` names (relative to the kubeconfig), else None."""
    data, file = body.get(f"{key}-data"), body.get(key)
    if data:
        try:
            return base64.b64decode(str(data), validate=True)
        except (binascii.Error, ValueError):
            raise KubeconfigError(f"{path}: {what}: {key}-data is not base64") from None
    if file:
        target = (path.parent / str(file)).expanduser()
        try:
            return target.read_bytes()
        except OSError as e:
            raise KubeconfigError(f"{path}: {what}: {key} {target}: {e.strerror or e}") from None
    return None


@dataclass
class Connection:
    """Where the API server is and how to authenticate to it: what `get` needs."""

    server: str  # scheme://host:port, no path
    base_path: str  # a proxy's path prefix (`https://rancher/k8s/clusters/c-1`), or ""
    ssl_context: ssl.SSLContext | None  # None: plain http
    headers: Mapping[str, str]
    tls_server_name: str
    description: str  # context, user and server, for messages

    def get(self, path: str, timeout: float = 30) -> Obj:
        """GET one path (with its query) as JSON; ApiError with a sentence on any failure."""
        url = urllib.parse.urlsplit(self.server)
        conn: http.client.HTTPConnection
        if self.ssl_context is None:
            conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=timeout)
        else:
            conn = _HTTPSConnection(
                url.hostname or "", url.port, self.ssl_context, self.tls_server_name or url.hostname, timeout
            )
        try:
            conn.request("GET", self.base_path + path, headers={"Accept": "application/json", **self.headers})
            resp = conn.getresponse()
            raw = resp.read()
        except ssl.SSLCertVerificationError as e:
            raise ApiError(
                f"{self.description}: the server's certificate does not verify ({e.verify_message}): "
                "check the cluster's certificate-authority(-data) and tls-server-name"
            ) from None
        except (OSError, http.client.HTTPException) as e:
            raise ApiError(f"{self.description}: cannot reach the API server: {e}") from None
        finally:
            conn.close()
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {"message": raw.decode(errors="replace")[:300]}
        if resp.status == 401:
            raise ApiError(f"{self.description}: the API server does not accept these credentials (HTTP 401)")
        if resp.status == 403:
            raise ApiError(
                f"{self.description}: forbidden to GET {path.split('?')[0]} (HTTP 403): the audit needs "
                f"list on namespaces, pods and networkpolicies in every namespace ({data.get('message', '')})"
            )
        if resp.status >= 300 or not isinstance(data, dict):
            message = data.get("message", "") if isinstance(data, dict) else ""
            raise ApiError(f"{self.description}: GET {path}: HTTP {resp.status} {message}".rstrip())
        return data


class _HTTPSConnection(http.client.HTTPSConnection):
    """HTTPS with the TLS server name set apart from the host (kubeconfig `tls-server-name`)."""

    def __init__(
        self, host: str, port: int | None, context: ssl.SSLContext, server_name: str | None, timeout: float
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._tls_context, self._server_name = context, server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._tls_context.wrap_socket(sock, server_hostname=self._server_name)


def load(paths: Sequence[Path], context: str | None = None) -> Connection:
    """The connection of `context` (else the current context) of these kubeconfig files."""
    merged = _read(paths)
    name = context or merged.current
    contexts = merged.entries["contexts"]
    if not name:
        raise KubeconfigError(f"{paths[0]}: no current-context; name one (CONTEXT=, --context)")
    if name not in contexts:
        raise KubeconfigError(f"no context {name!r} in {', '.join(map(str, paths))} (it has: {', '.join(contexts)})")
    ctx, ctx_path = contexts[name]
    cluster_name, user_name = str(ctx.get("cluster") or ""), str(ctx.get("user") or "")
    if cluster_name not in merged.entries["clusters"]:
        raise KubeconfigError(f"{ctx_path}: context {name}: cluster {cluster_name!r} is not defined")
    cluster, cluster_path = merged.entries["clusters"][cluster_name]
    user, user_path = merged.entries["users"].get(user_name, ({}, ctx_path))
    if user_name and user_name not in merged.entries["users"]:
        raise KubeconfigError(f"{ctx_path}: context {name}: user {user_name!r} is not defined")

    server = str(cluster.get("server") or "")
    url = urllib.parse.urlsplit(server)
    if url.scheme not in ("https", "http") or not url.hostname:
        raise KubeconfigError(f"{cluster_path}: cluster {cluster_name}: server {server!r} is not an http(s) URL")
    if cluster.get("proxy-url"):
        raise KubeconfigError(f"{cluster_path}: cluster {cluster_name}: proxy-url is not supported; {ADVICE}")
    for key, what in UNSUPPORTED_USER.items():
        if user.get(key):
            raise KubeconfigError(f"{user_path}: user {user_name}: `{key}` ({what}) is not supported; {ADVICE}")

    headers: dict[str, str] = {}
    token = str(user.get("token") or "")
    if user.get("tokenFile"):  # as client-go: the file, when both are set
        target = (user_path.parent / str(user["tokenFile"])).expanduser()
        try:
            token = target.read_text().strip()
        except OSError as e:
            raise KubeconfigError(f"{user_path}: user {user_name}: tokenFile {target}: {e.strerror or e}") from None
    if token:
        headers["Authorization"] = f"Bearer {token}"

    ssl_context = None
    if url.scheme == "https":
        ssl_context = _ssl_context(cluster, cluster_path, f"cluster {cluster_name}", user, user_path, user_name)
    elif user.get("client-certificate") or user.get("client-certificate-data"):
        raise KubeconfigError(f"{cluster_path}: cluster {cluster_name}: a client certificate needs an https server")
    return Connection(
        f"{url.scheme}://{url.netloc}",
        url.path.rstrip("/"),
        ssl_context,
        headers,
        str(cluster.get("tls-server-name") or ""),
        f"context {name} (user {user_name or '-'}, {server})",
    )


def _ssl_context(
    cluster: Obj, cluster_path: Path, what: str, user: Obj, user_path: Path, user_name: str
) -> ssl.SSLContext:
    ca = _bytes(cluster, "certificate-authority", cluster_path, what)
    if cluster.get("insecure-skip-tls-verify"):
        if ca is not None:  # as kubectl: the two contradict each other
            raise KubeconfigError(f"{cluster_path}: {what}: certificate-authority and insecure-skip-tls-verify")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        try:
            ctx = ssl.create_default_context(cadata=ca.decode("ascii") if ca is not None else None)
        except (ssl.SSLError, UnicodeDecodeError, ValueError) as e:
            raise KubeconfigError(
                f"{cluster_path}: {what}: certificate-authority is not a PEM certificate: {e}"
            ) from None
    cert = _bytes(user, "client-certificate", user_path, f"user {user_name}")
    key = _bytes(user, "client-key", user_path, f"user {user_name}")
    if (cert is None) != (key is None):
        missing = "client-key" if key is None else "client-certificate"
        raise KubeconfigError(f"{user_path}: user {user_name}: {missing}(-data) missing beside the other")
    if cert is not None and key is not None:
        # ssl loads a certificate chain from files only: private files in a private directory, gone
        # as soon as they are loaded
        with tempfile.TemporaryDirectory(prefix="epnp-audit-") as d:
            cert_file, key_file = Path(d) / "client.crt", Path(d) / "client.key"
            for f, content in ((cert_file, cert), (key_file, key)):
                f.touch(mode=0o600)
                f.write_bytes(content)
            try:
                ctx.load_cert_chain(cert_file, key_file)
            except ssl.SSLError as e:
                raise KubeconfigError(
                    f"{user_path}: user {user_name}: client-certificate and client-key do not load: {e}"
                ) from None
    return ctx
