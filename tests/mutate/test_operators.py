"""Each mutation operator produces the mutant it claims, and nothing in comments or strings."""

from __future__ import annotations

import json

import pytest
import yaml

from tools.mutate.operators import TEMPLATE_OPERATORS, Mutant, template_mutants
from tools.mutate.structured import schema_mutants, values_mutants

POLICY = """\
{{- /* if this comment were code, and it is not */ -}}
{{- if .Values.on }}
spec:
  ingress:
    # pods --> here
    - from:
        - podSelector:
            matchLabels:
              app: a
        - namespaceSelector:
            matchLabels:
              ns: b
          podSelector:
            matchLabels:
              app: c
      ports:
        - protocol: TCP
          port: 8443
        - protocol: TCP
          port: {{ .Values.port }}
  policyTypes:
    - Ingress
{{- end }}
{{- if not .Values.ok }}{{ fail "ok: must be set (and or eq)" }}{{ end }}
{{- if and .Values.a (eq .Values.b "x") (lt .Values.c 2) (not .Values.d) }}{{ end }}
{{- range $k := list "one" "two" }}{{ $k }}{{ end }}
{{- $x := required "x is required" .Values.x }}
"""


def mutants(op: str, text: str = POLICY) -> list[Mutant]:
    return list(template_mutants("templates/p.yaml", text, {op: TEMPLATE_OPERATORS[op]}))


def new_text(m: Mutant) -> str:
    return m.files["templates/p.yaml"]


def test_drop_peer_removes_one_whole_list_element():
    dropped = [new_text(m) for m in mutants("drop-peer")]
    assert len(dropped) == 2
    first = yaml.safe_load("\n".join(line for line in dropped[0].splitlines() if "{{" not in line))
    peers = first["spec"]["ingress"][0]["from"]
    assert peers == [{"namespaceSelector": {"matchLabels": {"ns": "b"}}, "podSelector": {"matchLabels": {"app": "c"}}}]
    second = yaml.safe_load("\n".join(line for line in dropped[1].splitlines() if "{{" not in line))
    assert second["spec"]["ingress"][0]["from"] == [{"podSelector": {"matchLabels": {"app": "a"}}}]


def test_drop_block_empties_from_and_ports():
    by_line = {m.line: new_text(m) for m in mutants("drop-block")}
    assert sorted(by_line) == [7, 17]  # the first line removed: from's and ports' children
    assert "      ports:\n        - protocol" in by_line[7] and "- from:\n      ports:" in by_line[7]
    assert "      ports:\n  policyTypes:" in by_line[17]


def test_shift_port_adds_one_to_literals_and_actions():
    assert [m.after for m in mutants("shift-port")] == ["port: 8444", "port: {{ add1 (.Values.port) }}"]


def test_flip_protocol_and_policy_type():
    assert [m.after for m in mutants("flip-protocol")] == ["- protocol: UDP"] * 2
    assert [m.after for m in mutants("flip-policy-type")] == ["- Egress"]


def test_invert_if_both_ways_and_skip_branch():
    inverted = [m.after for m in mutants("invert-if")]
    assert "{{- if not (.Values.on) }}" in inverted
    assert any(a.startswith("{{- if .Values.ok }}") for a in inverted)
    assert all("comment" not in a for a in inverted)
    assert "{{- if false }}" in [m.after for m in mutants("skip-branch")]


def test_logic_and_comparisons_only_in_code():
    swapped = [m.after for m in mutants("swap-and-or")]
    assert swapped == ['{{- if or .Values.a (eq .Values.b "x") (lt .Values.c 2) (not .Values.d) }}{{ end }}']
    assert [m.key.split("=> ")[1] for m in mutants("negate-compare")] == [
        '{{if and .Values.a (ne .Values.b "x") (lt .Values.c 2) (not .Values.d)}}',
        '{{if and .Values.a (eq .Values.b "x") (ge .Values.c 2) (not .Values.d)}}',
    ]
    assert "(le .Values.c 2)" in mutants("shift-boundary")[0].after
    assert [m.after for m in mutants("drop-not")] == [
        '{{- if and .Values.a (eq .Values.b "x") (lt .Values.c 2) (.Values.d) }}{{ end }}'
    ]


def test_disable_guard_keeps_the_message_and_drops_the_failure():
    afters = [m.after for m in mutants("disable-guard")]
    assert '{{- if not .Values.ok }}{{ $_ := list "ok: must be set (and or eq)" }}{{ end }}' in afters
    assert "{{- $x := .Values.x }}" in afters


def test_drop_list_item_drops_each_literal_entry():
    assert [m.after for m in mutants("drop-list-item")] == [
        '{{- range $k := list "two" }}{{ $k }}{{ end }}',
        '{{- range $k := list "one" }}{{ $k }}{{ end }}',
    ]


def test_keys_carry_no_line_numbers():
    moved = "{{/* a new first line */}}\n\n" + POLICY
    assert {m.key for m in template_mutants("t", POLICY)} == {m.key for m in template_mutants("t", moved)}
    assert {m.line + 2 for m in template_mutants("t", POLICY)} == {m.line for m in template_mutants("t", moved)}


SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["a", "b"],
    "properties": {
        "a": {"type": "array", "minItems": 1, "default": [53]},
        "b": {"enum": ["x", "y"], "default": "x"},
        "c": {"type": "integer", "minimum": 1, "default": 5},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}, "default": {"k": "v", "l": "w"}},
    },
}
SCHEMA_TEXT = json.dumps(SCHEMA, indent=2) + "\n"


def test_schema_mutants_relax_one_bound_each_in_the_files_layout():
    ms = {m.key.split(": ", 1)[1]: m for m in schema_mutants("values.schema.json", SCHEMA_TEXT)}
    assert set(ms) == {
        "drop additionalProperties: false",
        "not required a",
        "not required b",
        "drop minItems",
        "drop minimum",
        "drop enum",
    }
    relaxed = json.loads(ms["drop minItems"].files["values.schema.json"])
    assert "minItems" not in relaxed["properties"]["a"] and relaxed["properties"]["a"]["default"] == [53]
    assert json.loads(ms["not required a"].files["values.schema.json"])["required"] == ["b"]
    m = ms["drop minimum"]
    assert (m.line, m.before, m.after) == (
        SCHEMA_TEXT.splitlines().index('      "minimum": 1,') + 1,
        '"minimum": 1,',
        "",
    )


VALUES = """\
# -- the list
a: [53]
b: x  # the choice
c: 5
labels:
  k: v
  l: w
"""


@pytest.fixture
def value_mutants() -> dict[str, Mutant]:
    return {m.key: m for m in values_mutants("values.yaml", VALUES, "values.schema.json", SCHEMA_TEXT)}


def test_values_mutants_change_one_default_and_the_schemas_default_with_it(value_mutants: dict[str, Mutant]):
    assert set(value_mutants) == {
        "change-default values.yaml a: [53] => []",
        'change-default values.yaml b: "x" => "y"',
        "change-default values.yaml c: 5 => 6",
        'change-default values.yaml labels.k: "v" => "vx"',
        'change-default values.yaml labels.k: "v" => (dropped)',
        'change-default values.yaml labels.l: "w" => "wx"',
        'change-default values.yaml labels.l: "w" => (dropped)',
    }
    m = value_mutants["change-default values.yaml c: 5 => 6"]
    assert m.files["values.yaml"] == VALUES.replace("c: 5", "c: 6")
    assert json.loads(m.files["values.schema.json"])["properties"]["c"]["default"] == 6
    assert value_mutants['change-default values.yaml b: "x" => "y"'].after == "b: y  # the choice"
    dropped = value_mutants['change-default values.yaml labels.k: "v" => (dropped)']
    assert json.loads(dropped.files["values.schema.json"])["properties"]["labels"]["default"] == {"l": "w"}
