"""The dataplane lab: a "node" network namespace and one namespace per pod, joined by veth pairs.

    with Lab.start(pod_cidr) as lab:      # node netns up, this thread inside it, control plane running
        lab.add_hosts([("ep/ep-operator", "100.64.0.2"), ...])
        lab.agent.serve(...); lab.agent.probe(...)

Layout: the node namespace holds etcd, kube-apiserver, the dataplane engine
(tools/e2e/engines.py: kube-router or Calico's felix), the probe agent and all iptables/ipset
state, with ip_forward=1 and no ICMP rate limit there only; the node's address sits on its `lo`.
Each pod (or outside peer) is a namespace with `eth0`, a /32 and a default route to the node's
address (onlink), and the node routes that /32 to the pod's veth: Calico's layout, no bridge, and
Calico's names for a pod's veth (`pod_veth`; other hosts' never start with `cali`). The veth pair
is created inside the node namespace with its peer end created straight in the pod's, so nothing
ever exists in the host's namespace.

The calling thread enters the node namespace for the lab's lifetime: whatever it starts inherits
it, so tools/e2e/controlplane.py starts etcd and kube-apiserver there unchanged, and helm and the API
client reach 127.0.0.1 there. Only this thread moves (setns is per thread); it moves back on stop.

Cleanup mirrors the control plane's: processes in their own process groups, killed by PID
(PR_SET_PDEATHSIG covers a SIGKILLed parent), namespaces deleted, the temp dir removed, from the
context manager, atexit and SIGINT/SIGTERM; and namespaces/dirs whose owner PID is gone (a
SIGKILLed run) are swept on the next start, after killing any process still inside them.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.e2e import reaper
from tools.e2e.controlplane import ControlPlane, sweep_stale_dirs
from tools.e2e.probe import setns
from tools.paths import BIN, ROOT

PREFIX = "epnp-dp-"  # every network namespace the lab creates: epnp-dp-<pid>-<n>
TMP_PREFIX = "epnp-dataplane-"
NODE_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    # kube-router's denials are ICMP rejects; rate-limited, every other one would read as a timeout
    "net.ipv4.icmp_ratelimit": "0",
    "net.ipv4.icmp_ratemask": "0",
}


class LabError(RuntimeError):
    pass


def unavailable() -> str | None:
    """Why the lab cannot run here, or None (an engine's own binary: tools.e2e.dataplane.unavailable)."""
    if os.geteuid() != 0:
        return "not root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)"
    for tool in ("ip", "iptables", "ipset"):
        if not shutil.which(tool):
            return f"`{tool}` not found (Debian: iproute2, iptables, ipset; `make tools` installs them)"
    if not Path("/proc/thread-self/ns/net").exists():
        return "no network namespaces in this kernel"
    for b in ("etcd", "kube-apiserver", "helm"):
        if not os.access(BIN / b, os.X_OK):
            return f"{BIN / b} missing: run `make tools`"
    return None


def _run(argv: Sequence[str], input: str | None = None, check: bool = True) -> str:
    proc = subprocess.run(list(argv), input=input, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise LabError(
            f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}\n" + (f"input:\n{input}" if input else "")
        )
    return proc.stdout


def our_netns() -> list[str]:
    """The network namespaces any lab (of any process) created."""
    names = _run(["ip", "netns", "list"], check=False).split("\n")
    return [n.split()[0] for n in names if n.startswith(PREFIX)]


def _kill_inside(netns: str) -> None:
    """Kill what still runs inside one of our namespaces (a SIGKILLed run's children)."""
    for pid in _run(["ip", "netns", "pids", netns], check=False).split():
        with contextlib.suppress(ProcessLookupError, ValueError):  # gone already, or not a pid
            os.kill(int(pid), signal.SIGKILL)


def sweep() -> list[str]:
    """Remove namespaces and temp dirs of labs whose process is gone; returns what was removed."""
    gone: list[str] = []
    for ns in our_netns():
        m = re.match(re.escape(PREFIX) + r"(\d+)-", ns)
        if m and not Path(f"/proc/{m.group(1)}").exists():
            _kill_inside(ns)
            _run(["ip", "netns", "del", ns], check=False)
            gone.append(ns)
    sweep_stale_dirs()  # the control plane's, which a killed lab leaves too
    for d in Path(tempfile.gettempdir()).glob(TMP_PREFIX + "*"):
        m = re.match(re.escape(TMP_PREFIX) + r"(\d+)-", d.name)
        if m and not Path(f"/proc/{m.group(1)}").exists():
            shutil.rmtree(d, ignore_errors=True)
            gone.append(str(d))
    return gone


def pod_veth(namespace: str, pod: str) -> str:
    """The node-side veth name of a pod: felix finds a pod's interface by this name (libcalico-go,
    lib/backend/k8s/conversion/workload_endpoint_default.go, VethNameForWorkload: `cali` + the first
    11 hex digits of sha1("<namespace>.<pod>")); kube-router goes by address and ignores it."""
    return "cali" + hashlib.sha1(f"{namespace}.{pod}".encode()).hexdigest()[:11]


@dataclass(frozen=True)
class Host:
    key: str  # the caller's name for it, e.g. "ep/ep-operator" or "outside"
    netns: str
    ip: str
    veth: str  # the node's end


class Agent:
    """Client of the probe agent (tools/e2e/probe.py), one process in the node namespace."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.probes = 0
        self.probe_seconds = 0.0

    def call(self, cmd: Mapping[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise LabError(f"probe agent died (exit {self.proc.poll()})")
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            raise LabError(f"probe agent: {answer.get('error')}")
        return answer

    def serve(self, host: Host, name: str, tcp: Iterable[int], udp: Iterable[int]) -> None:
        self.call(
            {
                "op": "serve",
                "netns": host.netns,
                "name": name,
                "ip": host.ip,
                "tcp": sorted(set(tcp)),
                "udp": sorted(set(udp)),
            }
        )

    def unserve(self, host: Host) -> None:
        self.call({"op": "unserve", "netns": host.netns})

    def probe(
        self,
        probes: Sequence[tuple[str | None, str, int, str]],
        timeout: float = 0.25,
        interval: float = 0.0,
        stop_on: str | None = None,
    ) -> list[str]:
        """[(source netns or None for the node, destination IP, port, "tcp"|"udp")] -> answers.
        A denial may be a drop (felix), costing the whole timeout: probes run side by side. With
        `interval`, probe i starts at i*interval; with `stop_on`, none starts after one answered
        that name (those answer "")."""
        t0 = time.perf_counter()
        cmd: dict[str, Any] = {"op": "probe", "timeout": timeout, "probes": [list(p) for p in probes]}
        if interval:
            cmd["interval"] = interval
        if stop_on is not None:
            cmd["stop_on"] = stop_on
        out: list[str] = self.call(cmd)["results"]
        self.probe_seconds += time.perf_counter() - t0
        self.probes += len(probes)
        return out


class Lab:
    """A running lab. Use Lab.start() as a context manager."""

    def __init__(self, pod_cidr: str) -> None:
        self.tag = f"{PREFIX}{os.getpid()}-"
        self.node = f"{self.tag}node"
        net = ipaddress.ip_network(pod_cidr)
        self._addresses = (str(a) for a in net.hosts())
        self.node_ip = next(self._addresses)
        self.pod_cidr = str(net)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))
        self.hosts: dict[str, Host] = {}
        self.procs: dict[str, subprocess.Popen[Any]] = {}
        self.netns: list[str] = []
        self._count = 0
        self._home: int | None = None  # this thread's own namespace, while it is in the node's
        self.cp: ControlPlane | None = None
        self.agent: Agent

    @classmethod
    def start(cls, pod_cidr: str = "100.64.0.0/16", controlplane: bool = True) -> Lab:
        why = unavailable()
        if why:
            raise LabError(why)
        if threading.current_thread() is not threading.main_thread():
            raise LabError("start the lab from the main thread (it moves that thread into the node namespace)")
        sweep()
        lab = cls(pod_cidr)
        reaper.track(lab)
        try:
            lab._start(controlplane)
        except BaseException:
            lab.stop()
            raise
        return lab

    def _start(self, controlplane: bool) -> None:
        self._add_netns([self.node])
        _run(["ip", "-n", self.node, "-batch", "-"], input=f"link set lo up\naddr add {self.node_ip}/32 dev lo\n")
        _run(["ip", "netns", "exec", self.node, "sysctl", "-q", "-w", *(f"{k}={v}" for k, v in NODE_SYSCTLS.items())])
        self._home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        fd = os.open(f"/run/netns/{self.node}", os.O_RDONLY)
        try:
            setns(fd)
        finally:
            os.close(fd)
        agent = self.spawn(
            "probe-agent",
            [sys.executable, "-m", "tools.e2e.probe"],
            pipes=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.agent = Agent(agent)
        if controlplane:
            self.cp = ControlPlane.start()  # inherits this thread's namespace: the node's

    # ---------------------------------------------------------------- namespaces and hosts
    def _add_netns(self, names: Sequence[str]) -> None:
        self.netns += names  # first: a failure half-way still deletes what was made
        _run(["ip", "-batch", "-"], input="".join(f"netns add {n}\n" for n in names))

    def next_ip(self) -> str:
        return next(self._addresses)

    def add_hosts(self, hosts: Sequence[tuple[str, str | None]], veths: Mapping[str, str] | None = None) -> list[Host]:
        """(key, ip or None for the next pod address) -> hosts, each in its own namespace, routed.
        veths: key -> the node-side veth's name (a pod's `pod_veth`); others get `v<n>`."""
        made: list[Host] = []
        names = {h.veth for h in self.hosts.values()}
        for key, ip in hosts:
            if key in self.hosts:
                raise LabError(f"host {key!r} exists")
            self._count += 1
            veth = (veths or {}).get(key) or f"v{self._count}"
            if veth in names:
                raise LabError(f"host {key!r}: veth {veth} exists (the same pod twice?)")
            names.add(veth)
            made.append(Host(key, f"{self.tag}{self._count}", ip or self.next_ip(), veth))
        if not made:
            return []
        self._add_netns([h.netns for h in made])
        node_cmds = []
        for h in made:
            node_cmds += [
                f"link add {h.veth} type veth peer name eth0 netns {h.netns}",
                f"link set {h.veth} up",
                f"route add {h.ip}/32 dev {h.veth}",
            ]
        _run(["ip", "-n", self.node, "-batch", "-"], input="\n".join(node_cmds) + "\n")
        for h in made:
            _run(
                ["ip", "-n", h.netns, "-batch", "-"],
                input=(
                    f"link set lo up\nlink set eth0 up\naddr add {h.ip}/32 dev eth0\n"
                    f"route add default via {self.node_ip} dev eth0 onlink\n"
                ),
            )
            self.hosts[h.key] = h
        return made

    def remove_hosts(self, keys: Iterable[str]) -> None:
        gone = [self.hosts.pop(key) for key in keys]
        if not gone:
            return
        for h in gone:
            self.agent.unserve(h)
        # The veth first, synchronously: a deleted namespace is torn down later by the kernel, and
        # until then its veth and the node's route to it linger (a new host may want the address).
        _run(["ip", "-n", self.node, "-batch", "-"], input="".join(f"link del {h.veth}\n" for h in gone))
        for h in gone:
            _run(["ip", "netns", "del", h.netns], check=False)
            self.netns.remove(h.netns)

    # ---------------------------------------------------------------- processes
    def spawn(
        self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None, pipes: bool = False
    ) -> subprocess.Popen[Any]:
        """A process in the node namespace (inherited from this thread), in its own process group."""
        log = (self.dir / f"{name}.log").open("wb")
        with log:
            p: subprocess.Popen[Any] = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                stdout=subprocess.PIPE if pipes else log,
                stderr=log,
                cwd=ROOT if pipes else self.dir,
                env=dict(env) if env is not None else None,
                text=pipes,
                start_new_session=True,
                preexec_fn=reaper.pdeathsig,
            )
        self.procs[name] = p
        return p

    def log_tail(self, name: str, lines: int = 30) -> str:
        try:
            text = (self.dir / f"{name}.log").read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return f"--- {name}.log (last {lines} lines) ---\n" + "\n".join(text[-lines:]) + "\n"

    def kill(self, name: str) -> None:
        p = self.procs.pop(name, None)
        if p is None:
            return
        reaper.kill_group(p, term_grace=5.0)
        for f in (p.stdin, p.stdout):
            if f:
                f.close()

    def node_exec(self, *argv: str, check: bool = True) -> str:
        """A command inside the node namespace (iptables-save, ipset list, ...)."""
        return _run(["ip", "netns", "exec", self.node, *argv], check=check)

    # ---------------------------------------------------------------- teardown
    def stop(self) -> None:
        """Idempotent: processes (dataplane first), the control plane, back home, namespaces, temp dir."""
        for name in [n for n in self.procs if n != "probe-agent"] + ["probe-agent"]:
            self.kill(name)
        if self.cp is not None:
            self.cp.stop()
            self.cp = None
        if self._home is not None:
            setns(self._home)
            os.close(self._home)
            self._home = None
        for ns in reversed(self.netns):
            _kill_inside(ns)
            _run(["ip", "netns", "del", ns], check=False)
        self.netns.clear()
        self.hosts.clear()
        shutil.rmtree(self.dir, ignore_errors=True)
        reaper.untrack(self)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
