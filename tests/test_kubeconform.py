"""kubeconform -strict, offline, against the Kubernetes schemas of every supported minor version."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from tests.conftest import VALUES_FILES
from tests.skips import needs_pages
from tools import facts, schemas
from tools.paths import CHART, SCHEMAS
from tools.render import helm_template

VERSIONS = schemas.versions()


def test_schemas_cover_1_25_through_1_37():
    minors = [int(v.split(".")[1]) for v in VERSIONS]
    assert minors[0] <= 25 and minors[-1] >= 37
    for v in VERSIONS:
        assert (SCHEMAS / f"v{v}-standalone-strict" / "networkpolicy-networking-v1.json").exists(), v


def kubeconform(manifest: str, version: str) -> dict[str, Any]:
    proc = schemas.kubeconform(manifest, version, "-output", "json")
    report: dict[str, Any] = json.loads(proc.stdout)
    report["returncode"] = proc.returncode
    return report


@pytest.fixture(scope="module")
def manifests() -> dict[str, str]:
    return {
        "defaults": helm_template(),
        **{name: helm_template(yaml.safe_load(path.read_text())) for name, path in VALUES_FILES.items()},
    }


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", ["defaults", *VALUES_FILES])
def test_render_is_valid(manifests, case, version):
    report = kubeconform(manifests[case], version)
    assert report["returncode"] == 0, json.dumps(report, indent=1)
    assert report["summary"]["valid"] == manifests[case].count("kind: NetworkPolicy")
    assert report["summary"]["skipped"] == 0


def test_kubeconform_catches_an_invalid_policy():
    """The check can fail: an unknown field and a bad protocol are rejected, offline."""
    bad = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\n"
        "spec: {podSelector: {}, ingres: [], policyTypes: [Ingress]}\n"
    )
    report = kubeconform(bad, VERSIONS[-1])
    assert report["returncode"] != 0 and report["summary"]["invalid"] == 1


PAGE_1_5 = facts.page("1.5")


@needs_pages(PAGE_1_5)
def test_the_1_5_pages_openshift_webhook_policy_is_rejected_as_printed_and_the_chart_renders_it_once():
    """Decision ep-1.5-policytypes-twice: the page's block, cut from the page as printed, has `policyTypes:`
    twice; kubeconform -strict refuses it. The OpenShift example renders the object with one policyTypes,
    and kubeconform accepts that."""
    blocks = re.findall(r"```yaml\n(.*?)```", PAGE_1_5.spec.read_text(), flags=re.S)
    [printed] = [b for b in blocks if "name: allow-apiserver-ep-webhook" in b and "host-network" in b]
    assert printed.count("policyTypes:") == 2
    report = kubeconform(printed, VERSIONS[-1])
    assert report["returncode"] != 0 and report["summary"]["errors"] == 1
    assert 'key "policyTypes" already set in map' in report["resources"][0]["msg"]
    values = yaml.safe_load((CHART / "examples" / "ep-1.5-openshift.yaml").read_text())
    manifest = helm_template(values, args=["--show-only", "templates/ep-operator.yaml"])
    assert 'name: "allow-apiserver-ep-webhook"' in manifest and manifest.count("policyTypes:") == 1
    report = kubeconform(manifest, VERSIONS[-1])
    assert report["returncode"] == 0 and report["summary"]["valid"] == 1
