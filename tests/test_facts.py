"""The facts files are faithful transcriptions of the pages (tests/skips.py: without the pages these
skip, and fail with CI=true): the EP 1.0 page, and each later page as its differences from its base
page plus its own objects."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.skips import needs_pages
from tools import facts
from tools.scenarios import METRICS_PORT

DEFAULTS = facts.defaults_page()
SPEC = DEFAULTS.spec
# The later pages, each with the page its `base` entries name.
LATER = [p for p in facts.pages() if p.base]


def _yaml_blocks(page: Path = SPEC) -> list[str]:
    text = page.read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    # Drop the heredoc wrapper and shell variables the page prints around its YAML.
    out = []
    for block in blocks:
        block = textwrap.dedent(re.sub(r"^\s*kubectl apply.*<< EOF\n|^\s*EOF\s*$", "", block, flags=re.M))
        out.append(block.replace("${METRICS_PORT_NUMBER}", facts.load()["metricsPortPlaceholder"]))
    return out


def _page_objects(page: Path = SPEC) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for block in _yaml_blocks(page):
        docs.extend(d for d in yaml.safe_load_all(block) if d)
    return docs


@needs_pages(DEFAULTS)
def test_objects_are_the_pages_yaml_verbatim():
    assert DEFAULTS.page_objects() == _page_objects()


def _table_rows(heading: str, page: Path = SPEC) -> list[list[str]]:
    text = page.read_text()
    section = text.split(heading, 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not set(line) <= set("|- "):
            rows.append([c.strip().strip("*") for c in line.strip("|").split("|")])
    return rows[1:]  # drop the header


HEADINGS = {
    "Event Processing operator pod": "### {{site.data.reuse.ep_name}} operator pod",
    "Flink operator pod": "### Flink operator pod",
    "Event Processing pod": "### {{site.data.reuse.ep_name}} pod",
    "Flink operand pods (job and task managers)": "### Flink operand pods",
}


@needs_pages(DEFAULTS)
@pytest.mark.parametrize("table", sorted({r.table for r in facts.ingress_rows()}))
def test_ingress_rows_are_the_pages_tables(table):
    heading = HEADINGS[table]
    page = [(r[0], int(r[2]), r[3]) for r in _table_rows(heading)]
    ours = [("TCP", r.port, r.reason) for r in facts.ingress_rows() if r.table == table]
    assert ours == page


def test_every_row_names_known_workloads_and_switches():
    workloads = facts.load()["workloads"]
    for row in facts.ingress_rows():
        assert row.target in workloads
        assert row.origin == "anywhere" or row.origin in workloads
        assert row.switch in facts.switches()


def test_labels_match_the_pages_yaml():
    objs = {o["metadata"]["name"]: o for o in facts.load()["objects"]}
    jm = objs["ibm-eventautomation-flink-jobmanager"]["spec"]
    assert jm["podSelector"]["matchLabels"] == facts.labels("flink-jobmanager")
    peers = [p["podSelector"]["matchLabels"] for p in jm["ingress"][0]["from"]]
    assert peers == [
        facts.labels("flink-jobmanager"),
        facts.labels("flink-taskmanager"),
        facts.labels("flink-operator"),
    ]
    sa = objs["ibm-eventautomation-flink-jobmanager-stream-authoring"]["spec"]
    assert sa["ingress"][0]["from"][0]["podSelector"]["matchLabels"] == facts.labels("ep-instance")
    assert objs["ibm-eventautomation-flink-jobmanager-rpc-blob"]["spec"]["podSelector"]["matchLabels"] == facts.labels(
        "flink"
    )


# ---------------------------------------------------------------- the later pages (EP 1.1-1.5, ...)


# The later pages, each needing its text and its base page's.
WITH_TEXT = [pytest.param(p, marks=needs_pages(p, *([p.base] if p.base else [])), id=str(p)) for p in LATER]


@pytest.mark.parametrize("page", WITH_TEXT)
def test_later_pages_objects_are_the_pages_network_policies_verbatim(page: facts.Page):
    """Every NetworkPolicy the page prints, in order; a `base` reference is checked here against the
    page's own text, not only the base page's."""
    policies = [d for d in _page_objects(page.spec) if d.get("kind") == "NetworkPolicy"]
    assert page.page_objects() == policies


@pytest.mark.parametrize("page", WITH_TEXT)
def test_later_pages_other_yaml_blocks_are_only_the_subscription_snippets(page: facts.Page):
    """What the transcription leaves out is not a policy in disguise (a block without `kind`)."""
    others = [d for d in _page_objects(page.spec) if d.get("kind") != "NetworkPolicy"]
    assert others and all("DEPLOY_OPERATOR_NETWORK_POLICY" in yaml.safe_dump(d) for d in others)


def _tables(page: Path) -> list[tuple[str, list[list[str]]]]:
    """(heading, rows) of every table of the page, in order; cells stripped, the header row included."""
    out: list[tuple[str, list[list[str]]]] = []
    heading = ""
    for line in page.read_text().splitlines():
        if line.startswith("#"):
            heading = line.strip()
        elif line.startswith("|") and not set(line) <= set("|- "):
            row = [c.strip().strip("*") for c in line.strip("|").split("|")]
            if out and out[-1][0] == heading:
                out[-1][1].append(row)
            else:
                out.append((heading, [row]))
    return out


@pytest.mark.parametrize("page", WITH_TEXT)
def test_later_pages_tables_are_the_base_pages_but_for_the_listed_changes(page: facts.Page):
    assert page.base
    want = _tables(page.base.spec)
    for change in page.table_changes():
        [rows] = [rows for heading, rows in want if heading.startswith(HEADINGS[change["table"]])]
        col = rows[0].index(change["column"])
        [row] = [r for r in rows[1:] if r[rows[0].index("Port")] == str(change["port"])]
        assert row[col] == change["was"]
        row[col] = change["now"]
    assert _tables(page.spec) == want


@pytest.mark.parametrize("page", LATER, ids=str)
def test_later_pages_variants_each_hold_one_policy_per_name(page: facts.Page):
    """Each variant is installable as a set: one EP operator and one Flink operator policy, no name twice,
    and the 1.0 page's Flink operand objects."""
    assert page.variants()
    for variant in page.variants():
        objs = page.objects(variant, metrics_port=METRICS_PORT)
        names = [o["metadata"]["name"] for o in objs]
        assert len(names) == len(set(names)), variant
        selected = [o["spec"]["podSelector"].get("matchLabels") for o in objs]
        assert selected.count(facts.labels("ep-operator")) == 1, variant
        assert selected.count(facts.labels("flink-operator")) == 1, variant
        assert set(names) > {o["metadata"]["name"] for o in facts.documented_objects(METRICS_PORT)} - {
            "ibm-eventautomation-flink-operator"
        }, variant


def test_the_1_5_page_selects_the_ep_operator_by_the_labels_the_1_0_facts_chose():
    """Decision ep-pod-labels: the 1.0 page never shows the EP operator pod's labels; the 1.5 page's
    objects select it by exactly the labels the chart chose."""
    page = facts.page("1.5")
    for variant in page.variants():
        [op] = [
            o
            for o in page.objects(variant)
            if o["metadata"]["name"] in ("ibm-ep-allow-webhook", "allow-apiserver-ep-webhook")
        ]
        assert op["spec"]["podSelector"]["matchLabels"] == facts.labels("ep-operator")
