"""The data files are faithful transcriptions of the pages (when the pages are at hand): the EP 1.0
page, and the EP 1.1-1.5 page as its differences from 1.0 plus its own objects."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import facts
from tools.paths import SPEC, SPEC_EP15

needs_page = pytest.mark.skipif(not SPEC.exists(), reason=f"the spec page is not at {SPEC}")
needs_ep15_page = pytest.mark.skipif(
    not (SPEC.exists() and SPEC_EP15.exists()), reason=f"the spec pages are not at {SPEC} and {SPEC_EP15}"
)


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


@needs_page
def test_objects_are_the_pages_yaml_verbatim():
    assert facts.load()["objects"] == _page_objects()


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


@needs_page
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


# ---------------------------------------------------------------- the EP 1.1-1.5 page


@needs_ep15_page
def test_ep15_objects_are_the_pages_network_policies_verbatim():
    """Every NetworkPolicy the 1.5 page prints, in order; a `base` reference is checked here against the
    1.5 page's own text, not only the 1.0 page's."""
    policies = [d for d in _page_objects(SPEC_EP15) if d.get("kind") == "NetworkPolicy"]
    assert facts.ep15_page_objects() == policies


@needs_ep15_page
def test_ep15_other_yaml_blocks_are_only_the_subscription_snippets():
    """What the transcription leaves out is not a policy in disguise (a block without `kind`)."""
    others = [d for d in _page_objects(SPEC_EP15) if d.get("kind") != "NetworkPolicy"]
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


@needs_ep15_page
def test_ep15_tables_are_the_1_0_pages_but_for_the_listed_changes():
    want = _tables(SPEC)
    for change in facts.load_ep15()["tableChanges"]:
        [rows] = [rows for heading, rows in want if heading.startswith(HEADINGS[change["table"]])]
        col = rows[0].index(change["column"])
        [row] = [r for r in rows[1:] if r[rows[0].index("Port")] == str(change["port"])]
        assert row[col] == change["was"]
        row[col] = change["now"]
    assert _tables(SPEC_EP15) == want


def test_ep15_variants_each_hold_one_policy_per_name():
    """Each variant is installable as a set: one EP operator and one Flink operator policy, no name twice,
    and the 1.0 page's Flink operand objects."""
    for variant in facts.ep15_variants():
        objs = facts.ep15_objects(variant, metrics_port=9250)
        names = [o["metadata"]["name"] for o in objs]
        assert len(names) == len(set(names)), variant
        selected = [o["spec"]["podSelector"].get("matchLabels") for o in objs]
        assert selected.count(facts.labels("ep-operator")) == 1, variant
        assert selected.count(facts.labels("flink-operator")) == 1, variant
        assert set(names) > {o["metadata"]["name"] for o in facts.documented_objects(9250)} - {
            "ibm-eventautomation-flink-operator"
        }, variant


def test_ep15_page_selects_the_ep_operator_by_the_labels_the_1_0_facts_chose():
    """Decision ep-pod-labels: the 1.0 page never shows the EP operator pod's labels; the 1.5 page's
    objects select it by exactly the labels the chart chose."""
    for variant in facts.ep15_variants():
        [op] = [
            o
            for o in facts.ep15_objects(variant)
            if o["metadata"]["name"] in ("ibm-ep-allow-webhook", "allow-apiserver-ep-webhook")
        ]
        assert op["spec"]["podSelector"]["matchLabels"] == facts.labels("ep-operator")
