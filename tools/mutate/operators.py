"""Mutation operators for Helm templates: each reads any template text and yields one
mutant per place it applies, so new templates and helpers are covered without a change here.

Template actions (`{{ ... }}`) are parsed just enough to tell code from comments and
string literals; YAML lines outside actions are matched by shape (`- podSelector:`,
`port:`, `protocol:`, `- Ingress`), never by file name or line number.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".tpl", ".txt")


@dataclass(frozen=True)
class Mutant:
    """One change to the chart: `files` maps each changed chart-relative path to its new text."""

    operator: str
    file: str
    line: int  # 1-based, in the original file
    before: str  # the original line (stripped)
    after: str  # its replacement (stripped; "" when removed)
    files: dict[str, str] = field(compare=False, repr=False)
    ident: str = ""  # a stable key without line numbers; defaults to operator, file and change
    occurrence: int = 1  # n-th mutant with the same key (same text twice in a file)

    @property
    def key(self) -> str:
        base = self.ident or f"{self.operator} {self.file}: {self.before} => {self.after}"
        return base if self.occurrence == 1 else f"{base} #{self.occurrence}"

    def diff(self, chart: Path, context: int = 0) -> list[str]:
        """The unified diff of every changed file against `chart` (the unmutated one)."""
        out: list[str] = []
        for rel, new in self.files.items():
            old = (chart / rel).read_text()
            out += [
                line.rstrip("\n")
                for line in difflib.unified_diff(
                    old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{rel}", f"b/{rel}", n=context
                )
            ]
        return out


# --- where the code is --------------------------------------------------------------

_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`]*`')


@dataclass
class Template:
    """A template's text with a mask of the characters that are action code (not comment,
    not string literal) and the spans of string literals inside actions."""

    text: str
    code: bytearray
    strings: list[tuple[int, int]]
    actions: list[tuple[int, int]]  # (start, end) of each action's body, comments excluded

    @classmethod
    def parse(cls, text: str) -> Template:
        code = bytearray(len(text))
        strings: list[tuple[int, int]] = []
        actions: list[tuple[int, int]] = []
        for m in _ACTION.finditer(text):
            body = m.group(1)
            if body.strip().startswith("/*"):
                continue
            start, end = m.span(1)
            actions.append((start, end))
            code[start:end] = b"\x01" * (end - start)
            for s in _STRING.finditer(text, start, end):
                strings.append(s.span())
                code[s.start() : s.end()] = bytes(s.end() - s.start())
        return cls(text, code, strings, actions)

    def is_code(self, start: int, end: int) -> bool:
        return all(self.code[start:end])

    def outside_actions(self, pos: int) -> bool:
        return not any(a - 2 <= pos < b + 2 for a, b in self.actions)


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _line_at(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, len(text) if end < 0 else end


def edit(operator: str, rel: str, text: str, start: int, end: int, repl: str) -> Mutant:
    """The mutant replacing text[start:end] with `repl`; before/after are the whole lines."""
    new = text[:start] + repl + text[end:]
    # A removal that starts at a line's newline is about the lines after it.
    anchor = start + 1 if text[start : start + 1] == "\n" and end > start + 1 else start
    ls, _ = _line_at(text, anchor)
    _, le = _line_at(text, max(start, end - 1))
    before_lines = text[ls:le].split("\n")
    after_text = new[ls : le + len(new) - len(text)]
    before = before_lines[0].strip() + (f" (+{len(before_lines) - 1} lines)" if len(before_lines) > 1 else "")
    after = " ".join(part.strip() for part in after_text.split("\n")).strip()
    return Mutant(operator, rel, line_of(text, anchor), before, after, {rel: new})


# --- operators on action code -----------------------------------------------------------

_IF = re.compile(r"(\s*(?:else\s+)?if\s+)(.*?)\s*$", re.S)


def invert_if(t: Template) -> Iterator[tuple[int, int, str]]:
    """`if X` -> `if not (X)`; `if not X` -> `if X` (also `else if`)."""
    for a, b in t.actions:
        m = _IF.match(t.text, a, b)
        if not m:
            continue
        cond = m.group(2)
        new = cond[4:].lstrip() if re.match(r"not\s", cond) else f"not ({cond})"
        yield m.start(2), m.end(2), new


def skip_branch(t: Template) -> Iterator[tuple[int, int, str]]:
    """`if X` -> `if false`: the guarded branch never runs."""
    for a, b in t.actions:
        m = _IF.match(t.text, a, b)
        if m:
            yield m.start(2), m.end(2), "false"


def _swap_words(pairs: dict[str, str]) -> Callable[[Template], Iterator[tuple[int, int, str]]]:
    word = re.compile(r"(?<![\w$.])(" + "|".join(pairs) + r")(?=\s)")

    def op(t: Template) -> Iterator[tuple[int, int, str]]:
        for m in word.finditer(t.text):
            if t.is_code(m.start(), m.end()):
                yield m.start(), m.end(), pairs[m.group(1)]

    return op


swap_logic = _swap_words({"and": "or", "or": "and"})
negate_compare = _swap_words({"eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "gt": "le", "le": "gt"})
shift_boundary = _swap_words({"lt": "le", "le": "lt", "gt": "ge", "ge": "gt"})

_NOT = re.compile(r"(?<![\w$.])not\s+")


def drop_not(t: Template) -> Iterator[tuple[int, int, str]]:
    """`not X` -> `X` (where `not` is not the whole condition of an `if`: invert-if has those)."""
    for m in _NOT.finditer(t.text):
        if t.is_code(m.start(), m.start() + 3) and not re.search(
            r"\bif\s+$", t.text[max(0, m.start() - 12) : m.start()]
        ):
            yield m.start(), m.end(), ""


def disable_fail(t: Template) -> Iterator[tuple[int, int, str]]:
    """`{{ fail ... }}` -> `{{ $_ := list ... }}`: the guard evaluates its message and does nothing."""
    for a, b in t.actions:
        m = re.match(r"\s*(fail)\s", t.text[a:b])
        if m:
            yield a + m.start(1), a + m.end(1), "$_ := list"
        for r in re.finditer(r"(?<![\w$.])required\s+(\"(?:[^\"\\\n]|\\.)*\"|`[^`]*`)\s+", t.text[a:b]):
            if t.is_code(a + r.start(), a + r.start() + 8):
                yield a + r.start(), a + r.end(), ""


def _literal_args(text: str, pos: int) -> list[tuple[int, int]] | None:
    """The spans of `list`'s arguments from `pos` when each is a string literal or a
    parenthesised `(list ...)` of them: a hand-written table. None otherwise."""
    args: list[tuple[int, int]] = []
    while True:
        while pos < len(text) and text[pos] in " \t\n":
            pos += 1
        if pos >= len(text) or text[pos] in ")|" or text.startswith(("}}", "-}}"), pos):
            return args or None
        if text[pos] in '"`':
            m = _STRING.match(text, pos)
            if not m:
                return None
            args.append(m.span())
            pos = m.end()
        elif text.startswith("(list ", pos):
            inner = _literal_args(text, pos + 6)
            close = inner[-1][1] if inner else pos + 6
            while close < len(text) and text[close] in " \t\n":
                close += 1
            if inner is None or close >= len(text) or text[close] != ")":
                return None
            args.append((pos, close + 1))
            pos = close + 1
        else:
            return None


def drop_list_item(t: Template) -> Iterator[tuple[int, int, str]]:
    """Drop one entry of a literal `list` (a table written in the template)."""
    inner: list[tuple[int, int]] = []  # a table's rows: dropping half a row only breaks it
    for m in re.finditer(r"(?<![\w$.])list\s", t.text):
        if not t.is_code(m.start(), m.end() - 1) or any(s <= m.start() < e for s, e in inner):
            continue
        args = _literal_args(t.text, m.end())
        inner += args or []
        for s, e in args or []:
            # take the whitespace before the argument with it
            ws = s
            while t.text[ws - 1] in " \t":
                ws -= 1
            yield ws, e, ""


# --- operators on the YAML the templates emit ---------------------------------------------

_PEER = re.compile(r"^([ \t]*)- (podSelector|namespaceSelector|ipBlock):", re.M)
_BLOCK = re.compile(r"^([ \t]*)(?:- )?(from|to|ports):[ \t]*$", re.M)


def _children_end(text: str, line_end: int, col: int) -> int:
    """End of the lines after `line_end` indented deeper than `col` (blank lines included)."""
    pos = line_end
    end = line_end
    while pos < len(text):
        nxt = text.find("\n", pos + 1)
        nxt = len(text) if nxt < 0 else nxt
        line = text[pos + 1 : nxt]
        if line.strip():
            if len(line) - len(line.lstrip()) <= col:
                break
            end = nxt
        pos = nxt
    return end


def drop_peer(t: Template) -> Iterator[tuple[int, int, str]]:
    """Remove one `- podSelector:` / `- namespaceSelector:` / `- ipBlock:` list element."""
    for m in _PEER.finditer(t.text):
        if not t.outside_actions(m.end(1)):
            continue
        ls, le = _line_at(t.text, m.start())
        yield max(ls - 1, 0), _children_end(t.text, le, len(m.group(1))), ""


def drop_block(t: Template) -> Iterator[tuple[int, int, str]]:
    """Empty a `from:` / `to:` / `ports:` block (null: every peer, every port)."""
    for m in _BLOCK.finditer(t.text):
        if not t.outside_actions(m.end(1)):
            continue
        _, le = _line_at(t.text, m.start())
        col = t.text.index(m.group(2), m.start()) - m.start()
        end = _children_end(t.text, le, col)
        if end > le:
            yield le, end, ""


_PORT = re.compile(r"^[ \t]*(?:- )?(?:port|endPort):[ \t]*(\S.*?)[ \t]*$", re.M)
_ONE_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}$")


def shift_port(t: Template) -> Iterator[tuple[int, int, str]]:
    """`port: 8443` -> `port: 8444`; `port: {{ x }}` -> `port: {{ add1 (x) }}`."""
    for m in _PORT.finditer(t.text):
        value = m.group(1)
        if value.isdigit():
            yield m.start(1), m.end(1), str(int(value) + 1)
        elif (a := _ONE_ACTION.match(value)) and value.startswith("{{"):
            yield m.start(1), m.end(1), f"{{{{{a.group(1)} add1 ({a.group(2)}) {a.group(3)}}}}}"


def _flip_token(
    pairs: dict[str, str], yaml_line: re.Pattern[str]
) -> Callable[[Template], Iterator[tuple[int, int, str]]]:
    def op(t: Template) -> Iterator[tuple[int, int, str]]:
        for m in yaml_line.finditer(t.text):
            if t.outside_actions(m.start(1)):
                yield m.start(1), m.end(1), pairs[m.group(1)]
        for s, e in t.strings:
            if t.text[s + 1 : e - 1] in pairs:
                yield s + 1, e - 1, pairs[t.text[s + 1 : e - 1]]

    return op


flip_protocol = _flip_token({"TCP": "UDP", "UDP": "TCP"}, re.compile(r"protocol:[ \t]*(TCP|UDP)\b"))
flip_policy_type = _flip_token(
    {"Ingress": "Egress", "Egress": "Ingress"}, re.compile(r"^[ \t]*- (Ingress|Egress)[ \t]*$", re.M)
)

TEMPLATE_OPERATORS: dict[str, Callable[[Template], Iterator[tuple[int, int, str]]]] = {
    "drop-peer": drop_peer,
    "drop-block": drop_block,
    "shift-port": shift_port,
    "flip-protocol": flip_protocol,
    "flip-policy-type": flip_policy_type,
    "invert-if": invert_if,
    "skip-branch": skip_branch,
    "swap-and-or": swap_logic,
    "negate-compare": negate_compare,
    "shift-boundary": shift_boundary,
    "drop-not": drop_not,
    "disable-guard": disable_fail,
    "drop-list-item": drop_list_item,
}


def template_mutants(
    rel: str, text: str, operators: dict[str, Callable[[Template], Iterator[tuple[int, int, str]]]] | None = None
) -> Iterator[Mutant]:
    """Every template mutant of one file (`rel` is its path in the chart)."""
    t = Template.parse(text)
    for name, op in (operators or TEMPLATE_OPERATORS).items():
        for start, end, repl in op(t):
            if text[start:end] == repl:
                continue
            m = edit(name, rel, text, start, end, repl)
            # Key a change inside an action by that action alone: the rest of its line may change.
            for a, b in t.actions:
                if a <= start and end <= b:
                    after = text[a:start] + repl + text[end:b]
                    m = replace(m, ident=f"{name} {rel}: {{{{{text[a:b].strip()}}}}} => {{{{{after.strip()}}}}}")
                    break
            yield m


def chart_templates(chart: Path) -> list[Path]:
    return sorted(p for p in (chart / "templates").rglob("*") if p.is_file() and p.suffix in TEMPLATE_SUFFIXES)
