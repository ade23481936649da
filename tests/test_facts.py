"""The data file is a faithful transcription of the page (when the page is at hand)."""

from __future__ import annotations

import re
import textwrap
from typing import Any

import pytest
import yaml

from tools import facts
from tools.paths import SPEC

needs_page = pytest.mark.skipif(not SPEC.exists(), reason=f"the spec page is not at {SPEC}")


def _yaml_blocks() -> list[str]:
    text = SPEC.read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    # Drop the heredoc wrapper and shell variables the page prints around its YAML.
    out = []
    for block in blocks:
        block = textwrap.dedent(re.sub(r"^\s*kubectl apply.*<< EOF\n|^\s*EOF\s*$", "", block, flags=re.M))
        out.append(block.replace("${METRICS_PORT_NUMBER}", facts.load()["metricsPortPlaceholder"]))
    return out


def _page_objects() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for block in _yaml_blocks():
        docs.extend(d for d in yaml.safe_load_all(block) if d)
    return docs


@needs_page
def test_objects_are_the_pages_yaml_verbatim():
    assert facts.load()["objects"] == _page_objects()


def _table_rows(heading: str) -> list[list[str]]:
    text = SPEC.read_text()
    section = text.split(heading, 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not set(line) <= set("|- "):
            rows.append([c.strip().strip("*") for c in line.strip("|").split("|")])
    return rows[1:]  # drop the header


@needs_page
@pytest.mark.parametrize("table", sorted({r.table for r in facts.ingress_rows()}))
def test_ingress_rows_are_the_pages_tables(table):
    heading = {"Event Processing operator pod": "### {{site.data.reuse.ep_name}} operator pod",
               "Flink operator pod": "### Flink operator pod",
               "Event Processing pod": "### {{site.data.reuse.ep_name}} pod",
               "Flink operand pods (job and task managers)": "### Flink operand pods"}[table]
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
    assert peers == [facts.labels("flink-jobmanager"), facts.labels("flink-taskmanager"), facts.labels("flink-operator")]
    sa = objs["ibm-eventautomation-flink-jobmanager-stream-authoring"]["spec"]
    assert sa["ingress"][0]["from"][0]["podSelector"]["matchLabels"] == facts.labels("ep-instance")
    assert objs["ibm-eventautomation-flink-jobmanager-rpc-blob"]["spec"]["podSelector"]["matchLabels"] == facts.labels("flink")
