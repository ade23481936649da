"""A real, throwaway Kubernetes control plane (etcd + kube-apiserver) on 127.0.0.1.

No container runtime exists on the build machines, so the e2e tests run the
real binaries built by tools/bootstrap/kube/build.sh. Only the API server is
needed: helm and the tests talk to it, nothing schedules pods.

    with ControlPlane.start() as cp:        # pytest: tests/e2e/conftest.py
        cp.client.create(obj); cp.dry_run(objs)   # client: tools/e2e/client.py
    python -m tools.e2e.controlplane         # standalone: prints the kubeconfig, Ctrl-C stops

Cleanup is the point of most of this file: processes run in their own process
group and are killed as a group, and a stop is triggered by the context
manager, atexit, SIGINT/SIGTERM, and (for SIGKILL of the parent, which runs no
Python) PR_SET_PDEATHSIG in the children plus a sweep of stale temp dirs.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tools.e2e import reaper
from tools.e2e.client import HOST, Client
from tools.paths import BIN

BINARIES = ("etcd", "kube-apiserver")
TMP_PREFIX = "epnp-controlplane-"


class ControlPlaneError(RuntimeError):
    pass


def missing_binaries(bin_dir: Path = BIN) -> list[Path]:
    return [p for p in (bin_dir / b for b in BINARIES) if not os.access(p, os.X_OK)]


def _free_port() -> int:
    # Racy by nature (the port is released before the server binds it); start()
    # retries when a server dies with "address already in use".
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def sweep_stale_dirs() -> None:
    """Remove the temp dirs of runs whose owner died without cleanup (SIGKILL): they are named with
    the owner's pid; those whose pid is gone go."""
    for d in Path(tempfile.gettempdir()).glob(TMP_PREFIX + "*"):
        m = re.match(re.escape(TMP_PREFIX) + r"(\d+)-", d.name)
        if m and not Path(f"/proc/{m.group(1)}").exists():
            shutil.rmtree(d, ignore_errors=True)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d: Path) -> None:
    """CA + serving cert for 127.0.0.1/localhost, a client cert in system:masters (for clients that
    authenticate by certificate, as most kubeconfigs do), and the service-account key."""
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key", cwd=d)
    # CA extensions spelled out rather than left to the local openssl.cnf: Go
    # (helm) rejects a v3 CA certificate without them.
    _openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        "ca.key",
        "-subj",
        "/CN=epnp-e2e-ca",
        "-days",
        "2",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-out",
        "ca.crt",
        cwd=d,
    )
    signed_cert(
        d, "apiserver", "/CN=kube-apiserver", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"
    )
    signed_cert(d, "client", "/O=system:masters/CN=epnp-cert-admin", "extendedKeyUsage=clientAuth")
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=d)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)


def signed_cert(d: Path, name: str, subject: str, extensions: str) -> None:
    """<name>.key and <name>.crt in `d`, signed by its ca.crt/ca.key, with these X.509v3 extensions."""
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=d)
    _openssl("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=d)
    (d / f"{name}.ext").write_text(extensions + "\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        f"{name}.ext",
        "-out",
        f"{name}.crt",
        cwd=d,
    )


class ControlPlane:
    """A running etcd + kube-apiserver. Use ControlPlane.start() as a context manager."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.token = secrets.token_hex(24)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.apiserver_port = 0
        self.client: Client

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    @property
    def pki(self) -> Path:
        """ca.crt, and client.crt/client.key: a client certificate the API server trusts (system:masters)."""
        return self.dir / "pki"

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.apiserver_port}"

    @classmethod
    def start(cls, bin_dir: Path = BIN, timeout: float = 120, attempts: int = 3) -> ControlPlane:
        missing = missing_binaries(bin_dir)
        if missing:
            raise ControlPlaneError(f"missing {', '.join(map(str, missing))}: run `make e2e-tools`")
        sweep_stale_dirs()
        for attempt in range(1, attempts + 1):
            cp = cls(Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-")))
            reaper.track(cp)
            try:
                cp._start(bin_dir, timeout)
                return cp
            except ControlPlaneError as e:
                cp.stop()
                if attempt == attempts or "address already in use" not in str(e):
                    raise
        raise AssertionError("unreachable")

    def _spawn(self, name: str, argv: list[str]) -> None:
        with (self.dir / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
            self.procs[name] = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                start_new_session=True,
                preexec_fn=reaper.pdeathsig,
            )

    def _start(self, bin_dir: Path, timeout: float) -> None:
        d = self.dir
        pki = d / "pki"
        pki.mkdir()
        make_pki(pki)
        # token,user,uid,"groups": system:masters bypasses RBAC authorization.
        (d / "tokens.csv").write_text(f'{self.token},epnp-admin,epnp-admin,"system:masters"\n')
        (d / "tokens.csv").chmod(0o600)

        client_port, peer_port, self.apiserver_port = _free_port(), _free_port(), _free_port()
        etcd_url, peer_url = f"http://{HOST}:{client_port}", f"http://{HOST}:{peer_port}"
        self._spawn(
            "etcd",
            [
                str(bin_dir / "etcd"),
                "--name=epnp",
                f"--data-dir={d / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=epnp={peer_url}",
                "--initial-cluster-state=new",
                "--log-level=warn",
                "--unsafe-no-fsync",  # throwaway data: durability only costs time
            ],
        )
        self._spawn(
            "kube-apiserver",
            [
                str(bin_dir / "kube-apiserver"),
                f"--bind-address={HOST}",
                f"--advertise-address={HOST}",
                f"--secure-port={self.apiserver_port}",
                f"--etcd-servers={etcd_url}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--token-auth-file={d / 'tokens.csv'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                "--authorization-mode=RBAC",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc",
                # Only address bookkeeping for Service objects; no traffic is sent there.
                "--service-cluster-ip-range=10.96.0.0/24",
                # The `kubernetes` Service's endpoints would have to be a routable
                # address; nothing here needs them, and loopback is all we bind.
                "--endpoint-reconciler-type=none",
                "--profiling=false",
            ],
        )
        self.client = Client(self.apiserver_port, pki / "ca.crt", self.token)
        self._wait_ready(timeout)
        self._write_kubeconfig(pki / "ca.crt")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise ControlPlaneError(
                        f"{name} exited with {p.returncode} during startup:\n" + self.log_tail(name)
                    )
            try:
                status, data = self.client.request("GET", "/readyz", timeout=5)
                if status == 200:
                    return
                last = f"HTTP {status}: {data.get('message', '')}"
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.3)
        raise ControlPlaneError(
            f"kube-apiserver not ready after {timeout}s ({last}):\n"
            + self.log_tail("kube-apiserver")
            + self.log_tail("etcd")
        )

    def _write_kubeconfig(self, ca: Path) -> None:
        # JSON is valid YAML, so helm/kubectl read it and no YAML library is needed.
        cfg = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "epnp",
            "clusters": [
                {
                    "name": "epnp",
                    "cluster": {
                        "server": self.url,
                        "certificate-authority-data": base64.b64encode(ca.read_bytes()).decode(),
                    },
                }
            ],
            "users": [{"name": "epnp-admin", "user": {"token": self.token}}],
            "contexts": [{"name": "epnp", "context": {"cluster": "epnp", "user": "epnp-admin"}}],
        }
        self.kubeconfig.write_text(json.dumps(cfg, indent=2))
        self.kubeconfig.chmod(0o600)

    def log_tail(self, name: str, lines: int = 30) -> str:
        try:
            text = (self.dir / f"{name}.log").read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return f"--- {name}.log (last {lines} lines) ---\n" + "\n".join(text[-lines:]) + "\n"

    def dry_run(self, objects: Iterable[Mapping[str, Any]]) -> list[str]:
        return self.client.dry_run(objects)

    def stop(self) -> None:
        """Idempotent: kill both process groups (API server first), remove the temp dir."""
        for name in ("kube-apiserver", "etcd"):
            p = self.procs.pop(name, None)
            if p is not None:
                reaper.kill_group(p, term_grace=10.0)
        shutil.rmtree(self.dir, ignore_errors=True)
        reaper.untrack(self)

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def dry_run(objects: Iterable[Mapping[str, Any]], cp: ControlPlane | None = None) -> list[str]:
    """Validate rendered objects with a server-side dry run; [] means all accepted.

    Uses cp, else the control plane already running in this process (the e2e
    session fixture), else starts one just for this call.
    """
    if cp is None:
        cp = next((o for o in reversed(reaper.live) if isinstance(o, ControlPlane)), None)
    if cp is not None:
        return cp.dry_run(objects)
    with ControlPlane.start() as tmp:
        return tmp.dry_run(objects)


def main() -> int:
    t0 = time.monotonic()
    with ControlPlane.start() as cp:
        print(f"control plane ready in {time.monotonic() - t0:.1f}s at {cp.url}", flush=True)
        print(f"export KUBECONFIG={cp.kubeconfig}", flush=True)
        print("Ctrl-C to stop and remove everything", flush=True)
        try:
            while all(p.poll() is None for p in cp.procs.values()):
                time.sleep(1)
            print(
                "a control-plane process exited:\n" + cp.log_tail("kube-apiserver") + cp.log_tail("etcd"),
                file=sys.stderr,
            )
            return 1
        except KeyboardInterrupt:
            print("stopping", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
