"""What the e2e layers start (control planes, dataplane labs) is stopped at exit and on SIGINT or
SIGTERM, whatever a test was doing.

    reaper.track(obj)     # obj.stop() is idempotent; call before starting anything
    reaper.untrack(obj)   # from obj.stop()
    Popen(..., preexec_fn=reaper.pdeathsig)   # the child dies with us, even when we are SIGKILLed

On a signal every live object is stopped in the order it was tracked (a lab before the control
plane it started inside its node namespace, so the lab returns its thread home first), then the
handler installed before ours runs (Python's SIGINT -> KeyboardInterrupt); for SIGTERM we raise
KeyboardInterrupt too, which unwinds try/finally and makes pytest abort the session instead of
running more tests against stopped servers.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess
import threading
from types import FrameType
from typing import Any, Protocol


def pdeathsig() -> None:
    """Runs in a child before exec: the kernel SIGKILLs it if the parent dies, even by SIGKILL (which
    runs no Python), so a killed test run leaves no orphan servers."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


class Stoppable(Protocol):
    def stop(self) -> None: ...


live: list[Stoppable] = []
_prev_handlers: dict[int, Any] = {}
_installed = False


def stop_all() -> None:
    for obj in list(live):
        obj.stop()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    stop_all()
    prev = _prev_handlers.get(signum)
    if callable(prev):
        prev(signum, frame)
    else:
        raise KeyboardInterrupt(signal.Signals(signum).name)


def _install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(stop_all)
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread
    for sig in (signal.SIGINT, signal.SIGTERM):
        _prev_handlers[sig] = signal.signal(sig, _on_signal)


def kill_group(p: subprocess.Popen[Any], term_grace: float) -> None:
    """SIGTERM a child's process group (started with start_new_session, so pid == pgid), then SIGKILL
    if it is still there after term_grace seconds."""
    for sig, grace in ((signal.SIGTERM, term_grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            break
        try:
            p.wait(grace)
            break
        except subprocess.TimeoutExpired:
            continue
    p.poll()


def track(obj: Stoppable) -> None:
    _install()
    live.append(obj)


def untrack(obj: Stoppable) -> None:
    if obj in live:
        live.remove(obj)
