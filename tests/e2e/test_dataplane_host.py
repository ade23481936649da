"""The lab leaves the host as it found it: after a failing run, SIGTERM, and (via the sweep of the
next start) SIGKILL; after a successful run, test_dataplane.py's fixture checks it. Each lab here
runs in a child process, all three at once; the host's network
namespaces, iptables rules, ipsets and the sysctls the lab sets in its node namespace are compared
before and after, and every process the children started must be gone.
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
from tools.e2e.dataplane import Dataplane
from tools.e2e.lab import Lab, unavailable
from tools.paths import ROOT

REQUIRE = os.environ.get("EPNP_REQUIRE_E2E") == "1"
WHY = unavailable()
pytestmark = pytest.mark.skipif(
    WHY is not None and not REQUIRE, reason=f"dataplane lab unavailable: {WHY} (EPNP_REQUIRE_E2E=1 fails instead)"
)

SYSCTLS = ("net/ipv4/ip_forward", "net/ipv4/icmp_ratelimit", "net/ipv4/icmp_ratemask")


def host_state() -> dict[str, Any]:
    """What the lab must not change, read in this thread's namespace (the host's: no lab is live)."""
    labs = [o for o in reaper.live if isinstance(o, labmod.Lab)]
    assert not labs, "a lab is live in this process: this thread is not in the host's namespace"

    def out(*argv: str) -> str:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    rules = [ln for ln in out("iptables-save").splitlines() if not ln.startswith("#")]
    return {
        "netns": sorted(out("ip", "netns", "list").splitlines()),
        "iptables": rules,
        "ipsets": sorted(out("ipset", "list", "-n").split()),
        "links": sorted(ln.split(":")[1].strip() for ln in out("ip", "-o", "link").splitlines()),
        **{s: Path("/proc/sys", s).read_text().strip() for s in SYSCTLS},
    }


def child(mode: str) -> None:
    """`fail`: a whole lab (control plane, kube-router, the canary pod and its policy enforced), then
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
    with Dataplane.start() as dp:
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


def _spawn(mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", f"from tests.e2e.test_dataplane_host import child; child({mode!r})"],
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
    procs = {m: _spawn(m) for m in ("fail", "wait", "kill")}
    infos: dict[str, dict[str, Any]] = {}
    try:
        for m, p in procs.items():
            assert p.stdout is not None
            line = p.stdout.readline()
            assert line, f"{m}: the lab did not start:\n{p.communicate(timeout=60)[1][-3000:]}"
            infos[m] = json.loads(line)
            assert all(_alive(pid) for pid in infos[m]["pids"]) or m == "fail"
        procs["wait"].send_signal(signal.SIGTERM)
        procs["kill"].send_signal(signal.SIGKILL)
        codes = {m: p.wait(timeout=90) for m, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    assert codes["fail"] != 0 and codes["wait"] != 0 and codes["kill"] == -signal.SIGKILL
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
    assert not labmod.our_netns()
    assert host_state() == before
