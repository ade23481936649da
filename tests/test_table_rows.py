"""Every row of the page's ingress tables is served by a rendered rule, and only as the row says.

For each row: some policy that selects the target pods admits the row's port from the
row's origin; and (for in-cluster origins) an unrelated pod in the namespace is not
admitted on that port by any policy selecting the target.
"""

from __future__ import annotations

import pytest

from tests.conftest import rendered
from tools import facts
from tools.policy import admitted_ports, selects

UNRELATED = {"app": "unrelated"}
ROWS = facts.ingress_rows()


def _pods(workload: str) -> list[dict[str, str]]:
    # "flink" (every pod of the deployment) means its jobmanager and its taskmanagers.
    return (
        [facts.labels("flink-jobmanager"), facts.labels("flink-taskmanager")]
        if workload == "flink"
        else [facts.labels(workload)]
    )


def _admitted(target: dict[str, str], origin: dict[str, str] | None) -> set[int]:
    return {port[1] for obj in rendered() if selects(obj, target) for port in admitted_ports(obj, origin)}


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.target}:{r.port}<-{r.origin}" for r in ROWS])
def test_row_is_served(row: facts.IngressRow):
    origins = row.servedFrom or (row.origin,)
    for target in _pods(row.target):
        for origin in origins:
            for origin_labels in [None] if origin == "anywhere" else _pods(origin):
                assert row.port in _admitted(target, origin_labels), (row, origin)


@pytest.mark.parametrize(
    "row", [r for r in ROWS if r.origin != "anywhere" or r.servedFrom], ids=lambda r: f"{r.target}:{r.port}"
)
def test_row_is_not_served_to_an_unrelated_pod(row: facts.IngressRow):
    for target in _pods(row.target):
        assert row.port not in _admitted(target, UNRELATED)
        assert row.port not in _admitted(target, None)
