"""Many renders of the chart in a few processes: ONE `helm template` per chunk of values files, through a
throw-away umbrella chart that lists the chart once per values file under an alias (c0000, c0001, ...);
each object's `# Source:` line says which alias it belongs to. The switch matrix and the server-side dry
run share one render per process."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from tools.paths import CHART, HELM
from tools.render import NAMESPACE, RELEASE, RenderError
from tools.values import Values, merge
from tools.yamlio import load

Obj = dict[str, Any]

_SOURCE = re.compile(r"^# Source: [^/]+/charts/(c\d+)/", re.M)


# Renders already made in this process, by (chart content, helm, values): the connectivity matrix
# and the server-side dry run of the same combinations share one render.
_RENDERED: dict[tuple[str, str, str], list[list[Obj]]] = {}


def _chart_digest(chart: Path) -> str:
    """What rendering reads, hashed: a copy or an edit of the chart never hits another's cache entry."""
    h = hashlib.sha256()
    files = (
        p for p in chart.rglob("*") if p.is_file() and not {"tests", "examples", "ci"} & set(p.relative_to(chart).parts)
    )
    for f in sorted(files):
        h.update(str(f.relative_to(chart)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def render_many(
    values_list: Sequence[Values], chart: Path = CHART, helm: Path = HELM, chunk: int = 512, jobs: int = 2
) -> list[list[Obj]]:
    """The chart's objects for each values file, as `helm template` renders them, in few processes.
    Schema validation is skipped in the umbrella for speed (thousands of aliased subcharts); callers
    validate the values themselves (validate_values).
    The result is memoised for the process and shared between callers: read it, don't change it."""
    key = (_chart_digest(chart), str(helm), json.dumps(list(values_list), sort_keys=True))
    if key not in _RENDERED:
        chunks = [list(values_list[i : i + chunk]) for i in range(0, len(values_list), chunk)]
        with ThreadPoolExecutor(max(1, min(jobs, len(chunks)))) as pool:
            parts = list(pool.map(lambda c: _render_chunk(c, chart, helm), chunks))
        _RENDERED[key] = [objs for part in parts for objs in part]
    return _RENDERED[key]


def _render_chunk(values_list: list[Values], chart: Path, helm: Path) -> list[list[Obj]]:
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    aliases = [f"c{i:04d}" for i in range(len(values_list))]
    with tempfile.TemporaryDirectory(prefix="epnp-matrix-") as tmp:
        umbrella = Path(tmp)
        (umbrella / "charts").mkdir()
        # what rendering reads: helm copies the subchart once per alias, so leave out the rest
        shutil.copytree(
            chart,
            umbrella / "charts" / meta["name"],
            ignore=shutil.ignore_patterns("tests", "examples", "ci", "*.md", "values.schema.json"),
        )
        (umbrella / "Chart.yaml").write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v2",
                    "name": "matrix",
                    "version": "0.0.0",
                    "dependencies": [{"name": meta["name"], "version": meta["version"], "alias": a} for a in aliases],
                }
            )
        )
        (umbrella / "values.yaml").write_text(json.dumps(dict(zip(aliases, values_list, strict=True))))
        proc = subprocess.run(
            [str(helm), "template", RELEASE, str(umbrella), "--namespace", NAMESPACE, "--skip-schema-validation"],
            capture_output=True,
            text=True,
        )
    if proc.returncode != 0:
        raise RenderError(proc.stderr, proc.returncode, proc.stdout)
    out: dict[str, list[Obj]] = {a: [] for a in aliases}
    for doc in re.split(r"^---\s*$", proc.stdout, flags=re.M):
        m = _SOURCE.search(doc)
        obj = load(doc)
        if obj:
            if not m:
                raise ValueError(f"object without a subchart Source line:\n{doc[:300]}")
            out[m.group(1)].append(_unalias(obj, m.group(1), meta))
    return [out[a] for a in aliases]


def _unalias(obj: Obj, alias: str, meta: dict[str, Any]) -> Obj:
    """Under an alias, `.Chart.Name` is the alias: put the chart's name back in the two standard labels
    built from it, so each object is byte-for-byte what a plain `helm template` renders."""
    labels = obj.get("metadata", {}).get("labels") or {}
    for k, v in labels.items():
        if v == alias or v == f"{alias}-{meta['version']}":
            labels[k] = v.replace(alias, meta["name"], 1)
    return obj


def validate_values(values_list: Iterable[Values], chart: Path = CHART) -> None:
    import jsonschema

    schema = json.loads((chart / "values.schema.json").read_text())
    validator = (
        jsonschema.Draft202012Validator(schema)
        if "2020-12" in schema.get("$schema", "")
        else jsonschema.validators.validator_for(schema)(schema)
    )
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    for v in values_list:
        validator.validate(merge(defaults, v))
