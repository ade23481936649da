"""chart-testing (`ct lint`, ct.yaml) passes on helm v4 and v3 over every ci/*-values.yaml, and the
ci/ folder holds exactly the defaults, the max config and every worked example (as a symlink)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import rendered
from tools import ct, paths
from tools.groups import group_table
from tools.values import effective_values, get
from tools.values_schema import rows

CI = paths.CI_VALUES
OWN_FILES = {"default-values.yaml", "max-values.yaml"}  # the rest of ci/ are links to examples/


def linted_values_files(stdout: str) -> list[str]:
    return re.findall(r'^Linting chart with values file "(.+)"\.\.\.$', stdout, re.MULTILINE)


@pytest.mark.parametrize("helm", sorted(ct.HELMS))
def test_ct_lint_passes_over_every_ci_values_file(helm: str) -> None:
    proc = ct.lint(ct.HELMS[helm])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All charts linted successfully" in proc.stdout
    # yamale ran (yamllint prints nothing on success: the failure tests below show it runs)
    assert "Validating charts/ibm-ep-network-policies/Chart.yaml...\nValidation success!" in proc.stdout
    linted = {Path(f).name for f in linted_values_files(proc.stdout)}
    assert linted == {p.name for p in CI.glob("*-values.yaml")}
    assert len(linted) >= 4


@pytest.fixture
def chart_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "charts" / paths.CHART.name
    shutil.copytree(paths.CHART, dest, symlinks=True, ignore=shutil.ignore_patterns("tests"))
    return dest


@pytest.mark.parametrize(
    "bad, message",
    [
        # an unknown key: helm lint fails on the schema, naming the key
        ("denyAllIngres:\n  enabled: true\n", "denyAllIngres"),
        # a YAML defect the chart would accept: ct's yamllint config refuses it
        ("denyAllIngress:\n  enabled: true\ndenyAllIngress:\n  enabled: false\n", "key-duplicates"),
        ("denyAllIngress:   \n  enabled: true\n", "trailing-spaces"),
    ],
    ids=["unknown-key", "duplicate-key", "trailing-spaces"],
)
def test_ct_lint_fails_on_a_bad_ci_values_file(chart_copy: Path, bad: str, message: str) -> None:
    (chart_copy / "ci" / "bad-values.yaml").write_text(bad)
    proc = ct.lint(paths.HELM, charts=[chart_copy])
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert "bad-values.yaml" in proc.stdout + proc.stderr


def test_ct_lint_fails_on_a_chart_yaml_its_schema_refuses(chart_copy: Path) -> None:
    meta = yaml.safe_load((chart_copy / "Chart.yaml").read_text())
    meta["maintainers"] = [{"email": "nobody@example.invalid"}]  # no name
    (chart_copy / "Chart.yaml").write_text(yaml.safe_dump(meta))
    proc = ct.lint(paths.HELM, charts=[chart_copy])
    assert proc.returncode != 0
    assert "maintainers" in proc.stdout + proc.stderr and "name" in proc.stdout + proc.stderr


def test_every_example_is_a_ci_values_file() -> None:
    """A new example is linted by ct as soon as its ci/ link exists (`make ci-values` makes them)."""
    missing = []
    for example in paths.examples():
        link = CI / f"{example.stem}-values.yaml"
        if not link.is_symlink() or str(link.readlink()) != f"../examples/{example.name}":
            missing.append(f"ci/{link.name} -> ../examples/{example.name}")
    assert not missing, "ci/ lacks links (run `make ci-values`):\n  " + "\n  ".join(missing)


def test_ci_holds_the_defaults_the_max_config_and_links_to_examples_only() -> None:
    examples = {p.name for p in paths.examples()}
    for f in sorted(CI.iterdir()):
        if f.name in OWN_FILES:
            assert f.is_file() and not f.is_symlink(), f"{f.name}: its only copy, not a link"
        else:
            assert f.is_symlink() and f.name.endswith("-values.yaml"), f"{f.name}: not a ci/ values file"
            target = str(f.readlink())
            assert target.startswith("../examples/") and target.removeprefix("../examples/") in examples, (
                f"{f.name} -> {target}: no such example (a removed example leaves its link behind)"
            )
    assert {f.name for f in CI.iterdir()} >= OWN_FILES
    assert yaml.safe_load((CI / "default-values.yaml").read_text()) is None, "default-values.yaml sets nothing"


def test_the_max_config_has_one_copy() -> None:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=paths.ROOT, capture_output=True, check=True).stdout
    max_values = paths.REPO_CHART / paths.MAX_VALUES.relative_to(paths.CHART)  # the repository's, also under EPNP_CHART
    content = max_values.read_bytes()
    copies = [
        f
        for f in tracked.decode().split("\0")
        if f
        and (paths.ROOT / f).is_file()
        and not (paths.ROOT / f).is_symlink()
        and (paths.ROOT / f).read_bytes() == content
    ]
    assert copies == [str(max_values.relative_to(paths.ROOT))]


# Boolean values the max config leaves off, each with why: acknowledgements of a risk it does not take.
MAX_OFF = {
    "acknowledge.denyAllWithoutProductPolicies": "needed only with a product policy off; the max config has all on",
    "acknowledge.egressWithoutDns": "needed only with an egress group's DNS rule off; the max config keeps them",
}


def test_the_max_config_renders_every_group_of_the_chart() -> None:
    """Every row of the chart's group table (templates/_groups.tpl) has an object in the max render:
    lint, kubeconform, `make verify`, the API server and the dataplane see every template."""
    components = {o["metadata"]["labels"]["app.kubernetes.io/component"] for o in rendered_max()}
    assert {g["id"] for g in group_table()} <= components


def test_the_max_config_turns_on_every_boolean_of_the_schema() -> None:
    schema = json.loads((paths.CHART / "values.schema.json").read_text())
    booleans = [key for key, typ, _, _ in rows(schema) if typ == "boolean"]
    assert set(MAX_OFF) <= set(booleans), "an exception names a value the schema no longer has"
    mx = effective_values(yaml.safe_load(paths.MAX_VALUES.read_text()))
    assert [k for k in booleans if get(mx, k) is not (k not in MAX_OFF)] == []


def rendered_max() -> list[dict[str, Any]]:
    return rendered(yaml.safe_load(paths.MAX_VALUES.read_text()))
