"""The one entry point that renders the chart: `render(values)` runs `helm template`.

Failures raise `RenderError` carrying helm's stderr, so a test can assert the
message a user would see.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tools.paths import CHART, HELM
from tools.yamlio import load_all_strict

RELEASE = "ibm-ep-network-policies"
NAMESPACE = "event-processing"

Values = dict[str, Any]
Obj = dict[str, Any]


class RenderError(Exception):
    """helm failed; `stderr` is what it printed."""

    def __init__(self, stderr: str, returncode: int, stdout: str = ""):
        super().__init__(stderr.strip() or f"helm exited {returncode}")
        self.stderr = stderr
        self.stdout = stdout
        self.returncode = returncode


def helm_template(
    values: Values | None = None,
    *,
    helm: Path = HELM,
    chart: Path = CHART,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    args: Iterable[str] = (),
) -> str:
    """`helm template` with `values` passed as a values file; returns the manifest text."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="values-") as f:
        # JSON is YAML, and keeps ints ints and nulls nulls exactly as given.
        json.dump(values or {}, f)
        f.flush()
        cmd = [str(helm), "template", release, str(chart), "--namespace", namespace, "--values", f.name, *args]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(proc.stderr, proc.returncode, proc.stdout)
    return proc.stdout


def parse(manifest: str) -> list[Obj]:
    docs: list[Obj] = load_all_strict(manifest)
    return docs


def render(values: Values | None = None, **kwargs: Any) -> list[Obj]:
    """The chart's objects for `values` (merged over values.yaml, as helm does)."""
    return parse(helm_template(values, **kwargs))


def render_or_error(values: Values | None = None, **kwargs: Any) -> list[Obj] | RenderError:
    """render(values), or the RenderError it raised: for many cases rendered side by side, then judged."""
    try:
        return render(values, **kwargs)
    except RenderError as e:
        return e


def by_name(objects: Iterable[Obj]) -> dict[str, Obj]:
    """Objects keyed by `metadata.name`; for renders where names are unique."""
    out: dict[str, Obj] = {}
    for obj in objects:
        name = obj["metadata"]["name"]
        if name in out:
            raise ValueError(f"{name} is rendered more than once; key by (namespace, name) instead")
        out[name] = obj
    return out
