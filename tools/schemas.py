"""Standalone Kubernetes JSON schemas for kubeconform, built offline.

The pinned `kubernetes-validate` package ships one schema per kind and version,
but each points at a shared `/api/_definitions.json`, which kubeconform would try
to resolve as a path or URL. This tool inlines the definitions each kind needs
so kubeconform can read the files with no network:

    python -m tools.schemas --out DIR
    kubeconform -strict -kubernetes-version 1.30.0 -schema-location \
      'DIR/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json'
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate

from tools.paths import KUBECONFORM, SCHEMAS

SOURCE = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
# The kinds this chart renders; kubeconform fails on a kind without a schema.
KINDS = ("networkpolicy-networking-v1",)
DEFS_REF = re.compile(r"^(?:/api/_definitions\.json)?#/\$defs/(.+)$")
# kubeconform's -schema-location for what `make tools` builds into paths.SCHEMAS.
LOCATION = str(
    SCHEMAS
    / "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}"
    / "{{ .ResourceKind }}{{ .KindSuffix }}.json"
)


def versions() -> list[str]:
    """Kubernetes versions the package has schemas for, e.g. ["1.25.0", ...]."""
    found = (m.group(1) for p in SOURCE.iterdir() if (m := re.fullmatch(r"v(\d+\.\d+\.\d+)-local", p.name)))
    return sorted(found, key=lambda v: tuple(map(int, v.split("."))))


def kubeconform(manifest: str, version: str, *flags: str) -> subprocess.CompletedProcess[str]:
    """`kubeconform -strict -summary [flags]` of `manifest`, offline, against `version`'s schemas."""
    cmd = [
        str(KUBECONFORM),
        "-strict",
        "-summary",
        *flags,
        "-kubernetes-version",
        version,
        "-schema-location",
        LOCATION,
    ]
    return subprocess.run([*cmd, "-"], input=manifest, capture_output=True, text=True)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and (m := DEFS_REF.match(ref)):
            yield m.group(1)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _localise(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (DEFS_REF.sub(r"#/$defs/\1", v) if k == "$ref" and isinstance(v, str) else _localise(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_localise(v) for v in node]
    return node


def standalone(kind_schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """The kind's schema with every definition it reaches copied into its own `$defs`."""
    needed: dict[str, Any] = {}
    todo = list(_refs(kind_schema))
    while todo:
        name = todo.pop()
        if name not in needed:
            needed[name] = definitions[name]
            todo.extend(_refs(needed[name]))
    out: dict[str, Any] = _localise(kind_schema)
    out.pop("$id", None)
    out["$defs"] = _localise(dict(sorted(needed.items())))
    return out


def build(out: Path) -> list[Path]:
    written = []
    for version in versions():
        for suffix in ("", "-strict"):
            src = SOURCE / f"v{version}-local{suffix}"
            definitions = json.loads((src / "_definitions.json").read_text())["$defs"]
            dest = out / f"v{version}-standalone{suffix}"
            dest.mkdir(parents=True, exist_ok=True)
            for kind in KINDS:
                schema = standalone(json.loads((src / f"{kind}.json").read_text()), definitions)
                path = dest / f"{kind}.json"
                path.write_text(json.dumps(schema, indent=1, sort_keys=True))
                written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    written = build(args.out)
    print(f"schemas: {len(written)} standalone schemas for Kubernetes {versions()[0]}..{versions()[-1]} in {args.out}")


if __name__ == "__main__":
    main()
