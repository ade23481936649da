"""The documentation tells the truth about the tree: the README stays a short index that starts with
the two commands, docs/harness.md lists every module and test file, links and example paths resolve,
and the troubleshooting table quotes the chart's own messages."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tools.paths import CHART, ROOT

README = ROOT / "README.md"
LAYOUT = ROOT / "docs" / "harness.md"
DOCS = sorted([README, ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])


def tree_files(*patterns: str) -> list[str]:
    """Tracked and new (not ignored) files matching the git pathspecs."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *patterns],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted({f for f in out.split("\0") if f and (ROOT / f).is_file()})


def test_the_readme_is_a_short_index_that_starts_with_the_two_commands() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines: move the detail to docs/"
    head = "\n".join(lines[:40])
    assert re.search(r"^make render\b", head, re.M) and re.search(r"^make test\b", head, re.M), head


def test_the_layout_page_lists_every_module_and_test_file() -> None:
    """Every Python file of tools/ and tests/ (empty package markers aside) is in docs/harness.md, and
    every such path the page names exists."""
    files = [f for f in tree_files("tools/*.py", "tests/*.py") if (ROOT / f).stat().st_size > 0]
    named = set(re.findall(r"`((?:tools|tests)/[\w/.-]+\.py)`", LAYOUT.read_text()))
    assert not [f for f in files if f not in named], "missing from docs/harness.md"
    assert not sorted(named - set(tree_files("tools/*.py", "tests/*.py"))), "named in docs/harness.md, gone"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", path.read_text(), flags=re.M)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (doc.parent / path).resolve() if path else doc
        if not dest.exists() or (anchor and dest.suffix == ".md" and anchor not in _anchors(dest)):
            broken.append(target)
    assert not broken, f"{doc.relative_to(ROOT)}: broken links {broken}"


def test_the_examples_the_readme_names_exist() -> None:
    named = set(re.findall(r"`(?:charts/ibm-ep-network-policies/)?(examples/[\w.-]+\.yaml)`", README.read_text()))
    assert named
    assert not [n for n in sorted(named) if not (CHART / n).is_file()]


def _chart_strings() -> list[str]:
    """Every string literal of the templates: the formats of the messages `fail` prints."""
    out = []
    for path in sorted((CHART / "templates").iterdir()):
        for literal in re.findall(r'"((?:[^"\\]|\\.)*)"', path.read_text()):
            out.append(literal.replace('\\"', '"'))
    return out


VERB = r"%[-+# 0]*\d*[svdqT]"
QUOTED_WORDS = 3  # a quote holds at least the format's first three words: "x: is required"


def _prefix_pattern(fmt: str) -> re.Pattern[str]:
    """A format as a pattern matching the message it prints, or any prefix of it that ends at a word's
    end and holds its first words (a printf verb matches any text)."""
    tokens: list[str] = []
    for part in re.split(f"({VERB})", fmt):
        if re.fullmatch(VERB, part):
            tokens.append(".+?")
        else:
            tokens.extend(re.escape(w) for w in re.split(r"(\W)", part) if w)
    words = [i for i, token in enumerate(tokens) if re.fullmatch(r"\w+", token)]
    required = words[QUOTED_WORDS - 1] + 1 if len(words) >= QUOTED_WORDS else len(tokens)
    pattern = ""
    for token in reversed(tokens[required:]):
        pattern = f"{token}(?:{pattern})?" if pattern else token
    return re.compile("".join(tokens[:required]) + (f"(?:{pattern})?" if pattern else ""))


def _troubleshooting_messages() -> list[str]:
    """The chart's messages the README quotes: first cells that are one code span (helm's and other
    tools' messages are marked `helm:` or the like, and are theirs)."""
    section = README.read_text().split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", section, flags=re.M)


def test_the_troubleshooting_table_quotes_the_charts_own_messages() -> None:
    """Each quoted message, with `<placeholders>` for what varies, is how some `fail` of the chart's
    templates starts, so a reworded message fails here before users search for the old words."""
    messages = _troubleshooting_messages()
    assert len(messages) >= 5, messages
    patterns = [_prefix_pattern(s) for s in _chart_strings() if ":" in s]
    unknown = [m for m in messages if not any(p.fullmatch(re.sub(r"<[^>]+>", "x", m)) for p in patterns)]
    assert not unknown, f"not a message of the chart's templates: {unknown}"


def test_a_reworded_message_is_noticed() -> None:
    patterns = [_prefix_pattern(s) for s in _chart_strings() if ":" in s]
    real = "flink.metrics.port: is required when flink.metrics.enabled is true"
    assert any(p.fullmatch(real) for p in patterns)
    assert not any(p.fullmatch(real.replace("required", "needed")) for p in patterns)


def test_the_test_layers_are_described_once() -> None:
    """docs/harness.md's table is the one description of the test layers, its folders real; README.md
    and CONTRIBUTING.md link to it instead of describing the layers again."""
    rows = re.findall(r"^\| (helm-unittest[^|]*|pytest) \| `([^`]+)`", LAYOUT.read_text(), re.M)
    assert [r[0] for r in rows] == ["helm-unittest", "helm-unittest, schema off", "pytest"]
    assert all(list(ROOT.glob(where)) for _, where in rows), rows
    for doc in (README, ROOT / "CONTRIBUTING.md"):
        text = doc.read_text()
        assert "docs/harness.md" in text, doc.name
        again = [line for line in text.splitlines() if "helm-unittest" in line and "pytest" in line]
        assert not again, f"{doc.name} describes the test layers again (link to docs/harness.md): {again}"
