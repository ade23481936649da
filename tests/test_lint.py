"""helm lint --strict passes with helm v4 and v3, with defaults and the max-config values;
and both helm majors render the same objects."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.conftest import VALUES_FILES
from tools.paths import CHART, HELM, HELM3
from tools.render import render

FILES = {"defaults": None, **VALUES_FILES}
HELMS = {"helm4": HELM, "helm3": HELM3}


@pytest.mark.parametrize("values", FILES.values(), ids=FILES.keys())
@pytest.mark.parametrize("helm", HELMS)
def test_lint_strict(helm, values):
    cmd = [str(HELMS[helm]), "lint", "--strict", str(CHART)] + (["--values", str(values)] if values else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


@pytest.mark.parametrize("values", FILES.values(), ids=FILES.keys())
def test_helm3_renders_what_helm4_renders(values):
    v = yaml.safe_load(values.read_text()) if values else None
    assert render(v, helm=HELM3) == render(v, helm=HELM)


def test_helm_versions_are_the_pinned_ones():
    for helm, major in ((HELM, "v4."), (HELM3, "v3.")):
        out = subprocess.run([str(helm), "version", "--short"], capture_output=True, text=True, check=True).stdout
        assert out.startswith(major), out
