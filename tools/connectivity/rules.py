"""Which rule is which: a rule is named by its policy and the `# source --> destination` comment the
chart writes above it. Parsing drops comments, so they are read from the manifest's text, beside the
objects: the comment block right above a rule's `-`, at the dash's indent. Rules after it with no
comment of their own share it (a values list rendered under one comment, e.g.
`# eventProcessing.operator.extraIngress`), numbered from 0 as the list is.

Objects without comments (a live snapshot) borrow them from a render: a rule equal to a rendered
rule of the policy of the same namespace and name takes its comment; any other is `ingress rule 2`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from tools.kubelist import network_policies
from tools.policy import pairs
from tools.render import parse

Obj = dict[str, Any]
PolicyKey = tuple[str, str]  # (namespace, name)
DIRECTIONS = ("ingress", "egress")
_PEERS = {"ingress": "from", "egress": "to"}
_SOURCE = re.compile(r"^# Source: (.+)$")
_COMMENT = re.compile(r"^(\s*)#\s?(.*?)\s*$")


@dataclass(frozen=True)
class RuleNames:
    """Per policy and direction, each rule's name, in the object's order."""

    names: Mapping[PolicyKey, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    def or_else(self, other: RuleNames) -> RuleNames:
        """These names, and `other`'s where these have none."""
        out: dict[PolicyKey, dict[str, tuple[str, ...]]] = {}
        for key in {*self.names, *other.names}:
            mine, theirs = self.names.get(key, {}), other.names.get(key, {})
            out[key] = {
                d: tuple(m or t for m, t in itertools.zip_longest(mine.get(d, ()), theirs.get(d, ()), fillvalue=""))
                for d in DIRECTIONS
            }
        return RuleNames(out)

    def name(self, namespace: str, policy: str, direction: str, index: int) -> str:
        got = self.names.get((namespace, policy), {}).get(direction, ())
        return got[index] if index < len(got) and got[index] else f"{direction} rule {index + 1}"


@dataclass(frozen=True)
class Manifest:
    """A rendered manifest: its objects, their rules' names, and where each object starts (its
    template, and its line in the manifest) for nca's --explain."""

    objects: list[Obj]
    rules: RuleNames
    locations: Mapping[PolicyKey, tuple[str, int]]

    @property
    def policies(self) -> list[Obj]:
        return network_policies(self.objects)

    def location(self, obj: Obj) -> dict[str, Any]:
        path, line = self.locations.get(_key(obj), ("", 0))
        return {"path": path, "line": line}

    def names_for(self, objs: Iterable[Obj]) -> RuleNames:
        """Names for objects without comments (a snapshot): a rule equal to one of the same policy here
        has its name; others get none (so RuleNames.name says `ingress rule N`)."""
        own = {_key(o): o for o in self.policies}
        out: dict[PolicyKey, dict[str, tuple[str, ...]]] = {}
        for obj in network_policies(objs):
            ref = own.get(_key(obj)) or {}
            out[_key(obj)] = {}
            for d in DIRECTIONS:
                theirs = (ref.get("spec") or {}).get(d) or []
                ref_names = self.rules.names.get(_key(obj), {}).get(d, ())
                out[_key(obj)][d] = tuple(
                    next(
                        (
                            ref_names[j]
                            for j, r in enumerate(theirs)
                            if j < len(ref_names) and pairs([r], _PEERS[d]) == pairs([rule], _PEERS[d])
                        ),
                        "",
                    )
                    for rule in (obj.get("spec") or {}).get(d) or []
                )
        return RuleNames(out)


def _key(obj: Obj) -> PolicyKey:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _node(mapping: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(mapping, yaml.MappingNode):
        for k, v in mapping.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                found: yaml.Node = v
                return found
    return None


def _comment_above(lines: list[str], item: yaml.Node) -> str:
    """The comment block right above a sequence item's dash, at the dash's indent."""
    row = item.start_mark.line
    dash = lines[row].index("-") if "-" in lines[row] else item.start_mark.column
    block: list[str] = []
    for ln in reversed(lines[:row]):
        m = _COMMENT.match(ln)
        if not m or len(m.group(1)) != dash:
            break
        block.insert(0, m.group(2))
    return " ".join(block)


def rule_comments(text: str) -> tuple[dict[PolicyKey, dict[str, tuple[str, ...]]], dict[PolicyKey, tuple[str, int]]]:
    """(rule names, object locations) of every NetworkPolicy in a manifest's text."""
    lines = text.splitlines()
    names: dict[PolicyKey, dict[str, tuple[str, ...]]] = {}
    where: dict[PolicyKey, tuple[str, int]] = {}
    sources = {i: m.group(1) for i, ln in enumerate(lines) if (m := _SOURCE.match(ln))}
    for doc in yaml.compose_all(text):
        if not isinstance(doc, yaml.MappingNode):
            continue
        kind, meta = _node(doc, "kind"), _node(doc, "metadata")
        if not (isinstance(kind, yaml.ScalarNode) and kind.value == "NetworkPolicy"):
            continue
        ns, nm = _node(meta, "namespace") if meta else None, _node(meta, "name") if meta else None
        key = (str(ns.value) if isinstance(ns, yaml.ScalarNode) else "", str(nm.value) if nm is not None else "")
        start = doc.start_mark.line
        source = next((sources[i] for i in sorted(sources, reverse=True) if i <= start), "")
        where[key] = (source, start + 1)
        spec = _node(doc, "spec")
        names[key] = {}
        for d in DIRECTIONS:
            seq = _node(spec, d) if spec is not None else None
            items = seq.value if isinstance(seq, yaml.SequenceNode) else []
            comments = [_comment_above(lines, it) for it in items]
            names[key][d] = _number_shared(comments)
    return names, where


def _number_shared(comments: list[str]) -> tuple[str, ...]:
    """Rules without a comment share the one above them: each such run is numbered from 0."""
    groups: list[list[int]] = []
    for i, c in enumerate(comments):
        if c or not groups:
            groups.append([i])
        else:
            groups[-1].append(i)
    out = [""] * len(comments)
    for g in groups:
        head = comments[g[0]]
        for k, i in enumerate(g):
            if not head:
                continue
            out[i] = head if len(g) == 1 else (f"{head}[{k}]" if " " not in head else f"{head} ({k + 1} of {len(g)})")
    return tuple(out)


def read_manifest(text: str) -> Manifest:
    names, where = rule_comments(text)
    return Manifest(parse(text), RuleNames(names), where)
