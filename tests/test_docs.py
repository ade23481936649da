"""The README's generated sections are current (values reference, documented rows, decisions)."""

from tools import docs, facts


def test_readme_is_current():
    assert docs.README.read_text() == docs.rendered_readme(), "README.md is stale: run `make docs`"


def test_every_decision_is_in_the_readme():
    text = docs.README.read_text()
    for decision in facts.decisions():
        assert f"**{decision}**" in text
