"""A throwaway OCI registry on 127.0.0.1 (go-containerregistry's, in memory; tools/bootstrap/registry).

    with Registry.start() as reg:           # tests/e2e/test_registry.py
        helm push chart.tgz {reg.url}/charts --plain-http

The binary picks a free port itself and prints it, so there is no race for the port. It runs in its
own process group, killed as a group on stop; PR_SET_PDEATHSIG kills it if the test run dies.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time
from pathlib import Path

from tools.e2e.reaper import pdeathsig
from tools.paths import BIN

REGISTRY = BIN / "registry"
HOST = "127.0.0.1"


class Registry:
    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc, self.port = proc, port

    @property
    def host(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """oci:// base for helm (push, install, dependencies): add a path such as /charts."""
        return f"oci://{self.host}"

    @classmethod
    def start(cls, binary: Path = REGISTRY, timeout: float = 30) -> Registry:
        proc = subprocess.Popen(
            [str(binary), "-listen", f"{HOST}:0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=pdeathsig,
        )
        assert proc.stdout is not None
        deadline, line = time.monotonic() + timeout, b""
        try:
            while not line.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
                    raise RuntimeError(f"registry printed no address within {timeout}s")
                chunk = os.read(proc.stdout.fileno(), 256)
                if not chunk:
                    raise RuntimeError(f"registry exited ({proc.wait()}) before listening")
                line += chunk
            m = re.fullmatch(rb"listening on 127\.0\.0\.1:(\d+)\n", line)
            if not m:
                raise RuntimeError(f"unexpected registry output: {line!r}")
        except BaseException:
            cls(proc, 0).stop()
            raise
        return cls(proc, int(m.group(1)))

    def stop(self) -> None:
        """Idempotent: the process group gets SIGTERM, then SIGKILL."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break  # reaped: its pid (the group's id) may be reused, never signal it again
            try:
                os.killpg(self.proc.pid, sig)  # pid == pgid: start_new_session
            except ProcessLookupError:
                break
            try:
                self.proc.wait(5)
                break
            except subprocess.TimeoutExpired:
                continue
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
