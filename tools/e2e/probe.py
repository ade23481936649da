"""The lab's servers and probes: one process, sockets in every host's network namespace.

A socket belongs to the network namespace its creator was in when it was made, whatever the
process does afterwards. So one process, started inside the node namespace, switches its thread
into a pod's namespace (setns), creates that socket, switches back, and serves or dials from
there: every pod's servers and every source's probes in one epoll loop, with no process per pod
and no fork per probe.

    python -m tools.e2e.probe      # driven by tools.e2e.lab.Agent over stdin/stdout, JSON lines

Commands (one JSON object per line, one answer line each):
    {"op": "serve", "netns": NAME, "name": POD, "ip": IP, "tcp": [...], "udp": [...]}
    {"op": "unserve", "netns": NAME}
    {"op": "probe", "timeout": S, "probes": [[NETNS or null, IP, PORT, "tcp"|"udp"], ...],
     "interval": S (optional: start probe i at i*S, not all at once),
     "stop_on": NAME (optional: start no more probes once one answered NAME; the rest answer "")}
A probe answers the server's name (the connection went through), "refused" (a reject, or no
listener), "timeout" (dropped) or "error: ...". null as the source is the node namespace itself.
Up to MAX_OPEN probes are in flight at once: a dropped probe (felix's denial) costs its whole
timeout, so they must wait side by side.
Servers only run while a probe command does: nothing else in the lab connects to them.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import resource
import select
import socket
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
MAX_OPEN = 4096  # probes in flight (the fd limit is raised for them and the servers' sockets)
START_BATCH = 64  # probes started between two looks at the events (starting one costs ~0.1 ms)
REFUSED = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH}  # the ICMP rejects a denial sends


def setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"setns: {os.strerror(e)}")


class Namespaces:
    """Open handles on named network namespaces (/run/netns/NAME), and the thread's own."""

    def __init__(self) -> None:
        self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        self.fds: dict[str, int] = {}

    def forget(self, name: str) -> None:
        fd = self.fds.pop(name, None)
        if fd is not None:
            os.close(fd)

    def sockets(self, name: str | None, kinds: Sequence[int]) -> list[socket.socket]:
        """Sockets of these kinds in one namespace, with one switch there and back for all."""
        if name is not None:
            if name not in self.fds:
                self.fds[name] = os.open(f"/run/netns/{name}", os.O_RDONLY)
            setns(self.fds[name])
        try:
            out = [socket.socket(socket.AF_INET, k) for k in kinds]
        finally:
            if name is not None:
                setns(self.home)
        for s in out:
            s.setblocking(False)
        return out

    def socket(self, name: str | None, kind: int) -> socket.socket:
        return self.sockets(name, [kind])[0]


class Agent:
    def __init__(self) -> None:
        self.ns = Namespaces()
        self.ep = select.epoll()
        self.handlers: dict[int, Callable[[int], None]] = {}
        self.servers: dict[str, list[socket.socket]] = {}

    # ---------------------------------------------------------------- servers
    def serve(self, netns: str, name: str, ip: str, tcp: list[int], udp: list[int]) -> dict[str, Any]:
        payload = name.encode()
        for port in tcp:
            s = self.ns.socket(netns, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((ip, port))
            s.listen(1024)
            self._watch(s, select.EPOLLIN, partial(self._accept, s, payload))
            self.servers.setdefault(netns, []).append(s)
        for port in udp:
            s = self.ns.socket(netns, socket.SOCK_DGRAM)
            s.bind((ip, port))
            self._watch(s, select.EPOLLIN, partial(self._echo, s, payload))
            self.servers.setdefault(netns, []).append(s)
        return {"ok": True}

    def _accept(self, s: socket.socket, payload: bytes, events: int) -> None:
        while True:
            try:
                conn, _ = s.accept()
            except BlockingIOError:
                return
            with contextlib.suppress(OSError):  # the prober already gave up on this connection
                conn.send(payload)  # a few bytes into an empty buffer: never blocks
            conn.close()

    def _echo(self, s: socket.socket, payload: bytes, events: int) -> None:
        while True:
            try:
                _, addr = s.recvfrom(64)
            except BlockingIOError:
                return
            except OSError:
                continue
            s.sendto(payload, addr)

    def unserve(self, netns: str) -> dict[str, Any]:
        for s in self.servers.pop(netns, []):
            self._unwatch(s)
        self.ns.forget(netns)
        return {"ok": True}

    def _watch(self, s: socket.socket, events: int, handler: Callable[[int], None]) -> None:
        self.ep.register(s.fileno(), events)
        self.handlers[s.fileno()] = handler

    def _unwatch(self, s: socket.socket) -> None:
        fd = s.fileno()
        if self.handlers.pop(fd, None) is not None:
            self.ep.unregister(fd)
        s.close()

    # ---------------------------------------------------------------- probes
    def probe(
        self, probes: list[list[Any]], timeout: float, interval: float = 0.0, stop_on: str | None = None
    ) -> dict[str, Any]:
        results: list[str] = [""] * len(probes)
        # fd -> (probe index, socket, deadline), in start order: deadlines never decrease along it
        open_: dict[int, tuple[int, socket.socket, float]] = {}
        nxt = 0
        t0 = time.monotonic()
        stop = len(probes)

        def done(fd: int, answer: str) -> None:
            i, s, _ = open_.pop(fd)
            results[i] = answer
            self._unwatch(s)

        def readable(fd: int, ev: int) -> None:
            s = open_[fd][1]
            try:
                data = s.recv(256)
            except BlockingIOError:
                return
            except OSError as e:
                done(fd, "refused" if e.errno in REFUSED else f"error: {e}")
                return
            done(fd, data.decode(errors="replace") or "error: empty answer")

        def connected(fd: int, ev: int) -> None:
            s = open_[fd][1]
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                done(fd, "refused" if err in REFUSED else f"error: {os.strerror(err)}")
                return
            self.ep.modify(fd, select.EPOLLIN)
            self.handlers[fd] = lambda e: readable(fd, e)

        def start_batch(first: int, n: int) -> None:
            """Probes first..first+n-1, their sockets made per run of one source namespace."""
            i = first
            while i < first + n:
                src = probes[i][0]
                j = i
                while j < first + n and probes[j][0] == src:
                    j += 1
                kinds = [socket.SOCK_STREAM if probes[k][3] == "tcp" else socket.SOCK_DGRAM for k in range(i, j)]
                try:
                    made = self.ns.sockets(src, kinds)
                except OSError as e:
                    for k in range(i, j):
                        results[k] = f"error: {e}"
                    i = j
                    continue
                for k, s in zip(range(i, j), made, strict=True):
                    start(k, s)
                i = j

        def start(i: int, s: socket.socket) -> None:
            _, ip, port, proto = probes[i]
            tcp = proto == "tcp"
            fd = s.fileno()
            open_[fd] = (i, s, time.monotonic() + timeout)
            try:
                if tcp:
                    rc = s.connect_ex((ip, int(port)))
                    if rc not in (0, errno.EINPROGRESS):
                        open_.pop(fd)
                        s.close()
                        results[i] = "refused" if rc in REFUSED else f"error: {os.strerror(rc)}"
                        return
                    self._watch(s, select.EPOLLOUT, lambda e: connected(fd, e))
                else:
                    s.connect((ip, int(port)))
                    s.send(b"?")  # the reply, or the ICMP reject, comes back on recv
                    self._watch(s, select.EPOLLIN, lambda e: readable(fd, e))
            except OSError as e:
                open_.pop(fd, None)
                s.close()
                results[i] = "refused" if e.errno in REFUSED else f"error: {e}"

        while nxt < stop or open_:
            # Start a few, then serve events, then expire: a probe's answer that has arrived is
            # always read before its deadline is checked, however many are being started.
            now = time.monotonic()
            n = min(stop - nxt, MAX_OPEN - len(open_), START_BATCH)
            if interval:
                n = min(n, int((now - t0) / interval) + 1 - nxt)
            if n > 0:
                start_batch(nxt, n)
                nxt += n
            now = time.monotonic()
            more_now = nxt < stop and len(open_) < MAX_OPEN and now >= t0 + nxt * interval
            wait = 0.0 if more_now else 0.05
            if open_ and not more_now:
                wait = min(wait, max(0.0, next(iter(open_.values()))[2] - now))
            if nxt < stop and not more_now and len(open_) < MAX_OPEN:
                wait = min(wait, max(0.0, t0 + nxt * interval - now))
            if open_ or wait > 0:
                for fd, ev in self.ep.poll(wait):
                    handler = self.handlers.get(fd)
                    if handler is not None:
                        handler(ev)
            now = time.monotonic()
            expired = []
            for fd, (_, _, dl) in open_.items():  # in start order: deadlines never decrease
                if dl > now:
                    break
                expired.append(fd)
            for fd in expired:
                done(fd, "timeout")
            if stop_on is not None and stop_on in results:
                stop = nxt
                for fd in list(open_):
                    i = open_[fd][0]
                    done(fd, "")
                    results[i] = ""
        return {"ok": True, "results": results}

    def handle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        op = cmd.get("op")
        try:
            if op == "serve":
                return self.serve(cmd["netns"], cmd["name"], cmd["ip"], cmd.get("tcp", []), cmd.get("udp", []))
            if op == "unserve":
                return self.unserve(cmd["netns"])
            if op == "probe":
                return self.probe(
                    cmd["probes"],
                    float(cmd.get("timeout", 1.0)),
                    float(cmd.get("interval", 0.0)),
                    cmd.get("stop_on"),
                )
            return {"ok": False, "error": f"unknown op {op!r}"}
        except Exception as e:
            return {"ok": False, "error": f"{type(e).__name__}: {e}"}


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft = want
    global MAX_OPEN
    if soft != resource.RLIM_INFINITY:  # half of what the servers' sockets leave
        MAX_OPEN = max(64, min(MAX_OPEN, (soft - 8192) // 2))
    agent = Agent()
    for line in sys.stdin:
        sys.stdout.write(json.dumps(agent.handle(json.loads(line))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
