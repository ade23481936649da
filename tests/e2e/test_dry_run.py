"""Rendered objects validated by the real API server (server-side dry run).

The schemas check shapes; the server also checks what they can't (CIDRs, port
ranges, label syntax, unknown fields under strict validation). Nothing is stored.
The switch matrix renders thousands of combinations but few distinct objects, so
each distinct object is sent once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.skips import needs_pages
from tools import facts, paths
from tools.connectivity.batch import render_many
from tools.connectivity.matrix import beyond_combinations, combinations
from tools.e2e.controlplane import ControlPlane
from tools.render import render

VALUES_FILES = [*paths.examples(), paths.MAX_VALUES]


@pytest.mark.parametrize("values_file", [None, *VALUES_FILES], ids=lambda f: f.name if f else "defaults")
def test_values_file_passes_server_side_dry_run(controlplane: ControlPlane, values_file: Path | None) -> None:
    values = yaml.safe_load(values_file.read_text()) if values_file else {}
    objects = render(values)
    assert objects
    assert controlplane.dry_run(objects) == []


@pytest.mark.parametrize("matrix", [combinations, beyond_combinations], ids=["page", "beyond-the-page"])
def test_every_matrix_render_passes_server_side_dry_run(controlplane: ControlPlane, matrix: Any) -> None:
    combos = matrix()
    rendered = render_many([c.values() for c in combos])
    first_seen: dict[str, tuple[str, dict[str, Any]]] = {}  # canonical JSON -> (combination id, object)
    for combo, objs in zip(combos, rendered, strict=True):
        for obj in objs:
            first_seen.setdefault(json.dumps(obj, sort_keys=True), (combo.id, obj))
    assert first_seen, "the matrix rendered nothing"
    # One object at a time, so each rejection names the first combination that rendered it.
    errors = [f"{cid}: {e}" for cid, obj in first_seen.values() for e in controlplane.dry_run([obj])]
    assert errors == [], f"{len(errors)} of {len(first_seen)} distinct objects rejected:\n" + "\n".join(errors)


PAGE_1_5 = facts.page("1.5")


@needs_pages(PAGE_1_5)
def test_the_1_5_pages_openshift_webhook_policy_as_printed_is_refused_under_strict_validation(
    controlplane: ControlPlane,
) -> None:
    """Decision ep-1.5-policytypes-twice on the real API server: the page's block, sent as printed (YAML),
    is refused with fieldValidation=Strict for its second `policyTypes`; with the default (Warn) the server
    keeps the last value, the spec the facts hold. The OpenShift example's object passes the strict check."""
    blocks = re.findall(r"```yaml\n(.*?)```", PAGE_1_5.spec.read_text(), flags=re.S)
    [printed] = [b for b in blocks if "name: allow-apiserver-ep-webhook" in b and "host-network" in b]
    client = controlplane.client
    client.ensure_namespace("page-1-5")
    path = client.collection("networking.k8s.io/v1", "NetworkPolicy", "page-1-5")
    status, body = client.request("POST", path, printed, {"dryRun": "All", "fieldValidation": "Strict"})
    assert status == 400 and 'key "policyTypes" already set in map' in body.get("message", ""), (status, body)
    status, body = client.request("POST", path, printed, {"dryRun": "All", "fieldValidation": "Warn"})
    [fact] = [o for o in PAGE_1_5.data["objects"] if o.get("decision") == "ep-1.5-policytypes-twice"]
    assert status == 201 and body["spec"] == fact["object"]["spec"], (status, body)
    example = yaml.safe_load((paths.CHART / "examples" / "ep-1.5-openshift.yaml").read_text())
    [obj] = [o for o in render(example) if o["metadata"]["name"] == "allow-apiserver-ep-webhook"]
    assert controlplane.dry_run([obj]) == []
