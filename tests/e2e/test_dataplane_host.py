"""The lab leaves the host as it found it, on either engine: after a failing run and SIGTERM (each
on kube-router and on felix), and (via the sweep of the next start) SIGKILL; after a successful
run, test_dataplane.py's fixture checks it, per engine. Each lab here runs in a child process, all
at once; what a run could touch on the host is compared before and after (`host_state`: network
namespaces, iptables rules nft and legacy, the nftables ruleset, ipsets, links, the sysctls the lab
and felix set in the node namespace, and felix's files /var/lib/calico, /var/run/calico and
/run/xtables.lock), and every process the children started must be gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tools.e2e import lab as labmod
from tools.e2e import reaper
from tools.e2e.dataplane import Dataplane, unavailable
from tools.e2e.engines import ENGINES, engines
from tools.e2e.lab import Lab
from tools.paths import ROOT

REQUIRE = os.environ.get("EPNP_REQUIRE_E2E") == "1"
WHY = unavailable(engines("both"))
pytestmark = pytest.mark.skipif(
    WHY is not None and not REQUIRE, reason=f"dataplane lab unavailable: {WHY} (EPNP_REQUIRE_E2E=1 fails instead)"
)

# The lab's (tools/e2e/lab.py NODE_SYSCTLS) and felix's (felix/dataplane/linux/int_dataplane.go:
# ip_forward, nf_conntrack_acct; its per-interface ones are on interfaces only the node has).
SYSCTLS = (
    "net/ipv4/ip_forward",
    "net/ipv4/icmp_ratelimit",
    "net/ipv4/icmp_ratemask",
    "net/netfilter/nf_conntrack_acct",
    "net/ipv4/conf/all/forwarding",
)
# felix's files: its MTU, its endpoint status and lock, iptables-legacy's lock (felix on `auto`).
FILES = ("/var/lib/calico", "/var/run/calico", "/run/calico", "/run/xtables.lock")


def _file(path: str) -> Any:
    p = Path(path)
    if not p.exists():
        return None
    st = p.stat()
    return [st.st_mtime_ns, sorted(x.name for x in p.iterdir()) if p.is_dir() else st.st_size]


def host_state() -> dict[str, Any]:
    """What a lab could change on the host, read in this thread's namespace (the host's: no lab is
    live). Other runs' labs (other processes, on a shared machine) are left out of the namespaces:
    their own tests check them; this process's must all be gone."""
    labs = [o for o in reaper.live if isinstance(o, labmod.Lab)]
    assert not labs, "a lab is live in this process: this thread is not in the host's namespace"

    def out(*argv: str) -> str:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    def rules(save: str) -> list[str]:
        return [ln for ln in out(save).splitlines() if not ln.startswith("#")]

    netns = [n.split()[0] for n in out("ip", "netns", "list").splitlines() if n.strip()]
    # legacy iptables only when its module is loaded: reading it otherwise would load it
    legacy = Path("/proc/net/ip_tables_names").exists()
    return {
        "netns": sorted(n for n in netns if not n.startswith(labmod.PREFIX)),
        "own netns": sorted(n for n in netns if n.startswith(f"{labmod.PREFIX}{os.getpid()}-")),
        "iptables nft": rules("iptables-nft-save"),
        "iptables legacy": rules("iptables-legacy-save") if legacy else "not loaded",
        "nftables": out("nft", "list", "ruleset").splitlines(),
        "ipsets": sorted(out("ipset", "list", "-n").split()),
        "links": sorted(ln.split(":")[1].strip() for ln in out("ip", "-o", "link").splitlines()),
        **{s: Path("/proc/sys", s).read_text().strip() for s in SYSCTLS if Path("/proc/sys", s).exists()},
        **{f: _file(f) for f in FILES},
    }


def child(mode: str, engine: str = "kube-router") -> None:
    """`fail`: a whole lab (control plane, the engine, the canary pod and its policy enforced), then
    raise; `wait`: the same, then sleep until SIGTERM; `kill`: namespaces, pods and the probe agent
    only, then sleep until SIGKILL. Prints its processes, namespaces and temp dirs first."""
    if mode == "kill":
        with Lab.start(controlplane=False) as lab:
            for h in lab.add_hosts([("a", None), ("b", None)]):
                lab.agent.serve(h, h.key, [80], [])
            print(
                json.dumps(
                    {"pids": [p.pid for p in lab.procs.values()], "netns": list(lab.netns), "dirs": [str(lab.dir)]}
                ),
                flush=True,
            )
            time.sleep(600)
    with Dataplane.start(engine=ENGINES[engine]) as dp:
        assert dp.lab.cp is not None
        info = {
            "pids": [p.pid for p in [*dp.lab.procs.values(), *dp.lab.cp.procs.values()]],
            "netns": list(dp.lab.netns),
            "dirs": [str(dp.lab.dir), str(dp.lab.cp.dir)],
        }
        print(json.dumps(info), flush=True)
        if mode == "fail":
            raise RuntimeError("a failing run")
        time.sleep(600)


def _spawn(mode: str, engine: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", f"from tests.e2e.test_dataplane_host import child; child({mode!r}, {engine!r})"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_host_untouched_after_failure_sigterm_and_sigkill() -> None:
    """A successful run is checked by test_dataplane.py's lab fixture itself."""
    if WHY is not None:
        pytest.fail(f"EPNP_REQUIRE_E2E=1 but the dataplane lab is unavailable: {WHY}", pytrace=False)
    before = host_state()
    runs = [(f"{m} {e}", m, e) for e in ENGINES for m in ("fail", "wait")] + [("kill", "kill", "")]
    procs = {name: _spawn(m, e) for name, m, e in runs}
    infos: dict[str, dict[str, Any]] = {}
    try:
        for m, p in procs.items():
            assert p.stdout is not None
            line = p.stdout.readline()
            assert line, f"{m}: the lab did not start:\n{p.communicate(timeout=60)[1][-3000:]}"
            infos[m] = json.loads(line)
            assert all(_alive(pid) for pid in infos[m]["pids"]) or m.startswith("fail")
        for e in ENGINES:
            procs[f"wait {e}"].send_signal(signal.SIGTERM)
        procs["kill"].send_signal(signal.SIGKILL)
        codes = {m: p.wait(timeout=90) for m, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    assert all(codes[f"{m} {e}"] != 0 for e in ENGINES for m in ("fail", "wait")), codes
    assert codes["kill"] == -signal.SIGKILL
    # SIGKILL runs no cleanup: its children die with it (PR_SET_PDEATHSIG); its namespaces and
    # temp dirs are left for the next start's sweep
    leftover = set(infos["kill"]["netns"])
    assert leftover <= set(labmod.our_netns())
    swept = labmod.sweep()
    assert leftover <= set(swept)
    time.sleep(0.5)  # PR_SET_PDEATHSIG is delivered asynchronously
    for m, info in infos.items():
        assert not [pid for pid in info["pids"] if _alive(pid)], f"{m}: processes left"
        assert not [d for d in info["dirs"] if Path(d).exists()], f"{m}: temp dirs left"
    made = {n for info in infos.values() for n in info["netns"]}
    assert not made & set(labmod.our_netns()), "namespaces left"
    assert host_state() == before
