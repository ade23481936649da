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
    {"op": "probe", "timeout": S, "probes": [[NETNS or null, IP, PORT, "tcp"|"udp"], ...]}
A probe answers the server's name (the connection went through), "refused" (a reject, or no
listener), "timeout" (dropped) or "error: ...". null as the source is the node namespace itself.
Servers only run while a probe command does: nothing else in the lab connects to them.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import select
import socket
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
MAX_OPEN = 512  # probes in flight: well under the fd limit, enough to keep the kernel busy
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

    def socket(self, name: str | None, kind: int) -> socket.socket:
        if name is None:
            s = socket.socket(socket.AF_INET, kind)
        else:
            if name not in self.fds:
                self.fds[name] = os.open(f"/run/netns/{name}", os.O_RDONLY)
            setns(self.fds[name])
            try:
                s = socket.socket(socket.AF_INET, kind)
            finally:
                setns(self.home)
        s.setblocking(False)
        return s


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
    def probe(self, probes: list[list[Any]], timeout: float) -> dict[str, Any]:
        results: list[str] = [""] * len(probes)
        open_: dict[int, tuple[int, socket.socket, float]] = {}  # fd -> (probe index, socket, deadline)
        nxt = 0

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

        def start(i: int) -> None:
            src, ip, port, proto = probes[i]
            tcp = proto == "tcp"
            try:
                s = self.ns.socket(src, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
            except OSError as e:
                results[i] = f"error: {e}"
                return
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

        while nxt < len(probes) or open_:
            while nxt < len(probes) and len(open_) < MAX_OPEN:
                start(nxt)
                nxt += 1
            now = time.monotonic()
            for fd in [fd for fd, (_, _, dl) in open_.items() if dl <= now]:
                done(fd, "timeout")
            if not open_:
                continue
            wait = max(0.0, min(dl for _, _, dl in open_.values()) - now)
            for fd, ev in self.ep.poll(min(wait, 0.05)):
                handler = self.handlers.get(fd)
                if handler is not None:
                    handler(ev)
        return {"ok": True, "results": results}

    def handle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        op = cmd.get("op")
        try:
            if op == "serve":
                return self.serve(cmd["netns"], cmd["name"], cmd["ip"], cmd.get("tcp", []), cmd.get("udp", []))
            if op == "unserve":
                return self.unserve(cmd["netns"])
            if op == "probe":
                return self.probe(cmd["probes"], float(cmd.get("timeout", 1.0)))
            return {"ok": False, "error": f"unknown op {op!r}"}
        except Exception as e:
            return {"ok": False, "error": f"{type(e).__name__}: {e}"}


def main() -> None:
    agent = Agent()
    for line in sys.stdin:
        sys.stdout.write(json.dumps(agent.handle(json.loads(line))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
