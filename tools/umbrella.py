"""An umbrella chart that depends on this one, as Argo CD and Flux users install it.

    umbrella = make_umbrella(tmp, repository="file://" + str(CHART))
    dependency_build(umbrella)            # helm dependency build (file:// or oci://)
    helm_template_umbrella(umbrella, values={"ibm-ep-network-policies": {...}, "global": {...}})

Helm passes the parent's `<chart>:` key and `global` to the subchart, and validates the
subchart's values against its schema, so this is how a dependency user sees the chart.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tools.paths import CHART, HELM
from tools.render import NAMESPACE, RELEASE, RenderError, Values


def chart_meta(chart: Path = CHART) -> dict[str, Any]:
    meta: dict[str, Any] = yaml.safe_load((chart / "Chart.yaml").read_text())
    return meta


def make_umbrella(directory: Path, repository: str, version: str | None = None, name: str = "umbrella") -> Path:
    """Write an umbrella chart into `directory` depending on this chart from `repository`."""
    meta = chart_meta()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Chart.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v2",
                "name": name,
                "version": "0.0.1",
                "dependencies": [
                    {"name": meta["name"], "version": version or meta["version"], "repository": repository}
                ],
            },
            sort_keys=False,
        )
    )
    return directory


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(proc.stderr, proc.returncode, proc.stdout)
    return proc


def dependency_build(umbrella: Path, helm: Path = HELM, *args: str) -> None:
    """`helm dependency build`: fetches the subchart into charts/ (raises with helm's stderr)."""
    _run([str(helm), "dependency", "build", str(umbrella), *args])


def helm_template_umbrella(
    umbrella: Path, values: Values | None = None, helm: Path = HELM, release: str = RELEASE, namespace: str = NAMESPACE
) -> str:
    """`helm template` of the umbrella with the schema on; returns the manifest (raises RenderError)."""
    values_file = umbrella / "test-values.json"
    values_file.write_text(json.dumps(values or {}))
    try:
        return _run(
            [str(helm), "template", release, str(umbrella), "--namespace", namespace, "--values", str(values_file)]
        ).stdout
    finally:
        values_file.unlink()
