"""A render compared with a documentation page: object for object, names included, by meaning.

Shared by the 1.0 page's defaults (test_defaults.py) and the later pages' examples
(test_page_examples.py). Expected objects come from the facts (tools/facts/), never from a render.
"""

from __future__ import annotations

from collections.abc import Iterable

from tools import facts
from tools.policy import normal
from tools.render import Obj, by_name


def assert_objects_are_the_pages(rendered: Iterable[Obj], page: Iterable[Obj], tabulated: Iterable[str] = ()) -> None:
    """The render holds exactly the page's objects (same names), each the same by meaning
    (tools.policy.normal: rule grouping and order may differ). `tabulated` names the rendered
    policies the page describes only in its tables (checked against them with `table_policy`)."""
    skip = set(tabulated)
    got = {k: v for k, v in by_name(rendered).items() if k not in skip}
    want = by_name(page)
    assert sorted(got) == sorted(want)
    for name, obj in want.items():
        assert normal(got[name]) == normal(obj), name


def table_policy(target: str) -> Obj:
    """The policy the page's table for `target` describes, built from its rows."""
    ingress = []
    for row in facts.ingress_rows():
        if row.target != target:
            continue
        rule: dict = {"ports": [{"protocol": "TCP", "port": row.port}]}
        if row.origin != "anywhere":
            rule["from"] = [{"podSelector": {"matchLabels": facts.labels(row.origin)}}]
        ingress.append(rule)
    return {
        "metadata": {"name": target},
        "spec": {"podSelector": {"matchLabels": facts.labels(target)}, "ingress": ingress, "policyTypes": ["Ingress"]},
    }


def assert_matches_table(obj: Obj, target: str) -> None:
    """A rendered policy admits what the page's table for `target` lists, on the pods it names."""
    got, want = normal(obj), normal(table_policy(target))
    assert (got.pod_selector, got.policy_types, got.ingress, got.egress) == (
        want.pod_selector,
        want.policy_types,
        want.ingress,
        want.egress,
    )
