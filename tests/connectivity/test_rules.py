"""Rule names from a manifest's comments (tools/connectivity/rules.py), and objects from `kubectl get
-o yaml` output (tools/snapshot.py)."""

from __future__ import annotations

import pytest
import yaml

from tools import snapshot
from tools.connectivity.rules import RuleNames, read_manifest
from tools.render import helm_template

MANIFEST = """\
---
# Source: chart/templates/a.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: a
  namespace: ns
spec:
  podSelector: {}
  ingress:
    # anywhere --> a: the webhook
    - ports:
        - port: 8443
          # a comment inside a rule names nothing
    # b, c --> a: two lines
    # of comment
    - from:
        - podSelector: {}
    # values.extraIngress
    - from:
      - ipBlock:
          cidr: 10.0.0.0/8
    - from:
      - ipBlock:
          cidr: 11.0.0.0/8
  egress:
    - to:
        - podSelector: {}
  policyTypes: [Ingress, Egress]
---
# Source: chart/templates/b.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-a-policy
"""


def test_each_rule_is_named_by_the_comment_above_its_dash() -> None:
    m = read_manifest(MANIFEST)
    assert [m.rules.name("ns", "a", "ingress", i) for i in range(4)] == [
        "anywhere --> a: the webhook",
        "b, c --> a: two lines of comment",
        "values.extraIngress[0]",
        "values.extraIngress[1]",
    ]
    assert m.rules.name("ns", "a", "egress", 0) == "egress rule 1"  # no comment: by its place
    assert m.location(m.policies[0]) == {"path": "chart/templates/a.yaml", "line": 3}
    assert [o["metadata"]["name"] for o in m.policies] == ["a"]


def test_every_rule_the_chart_renders_has_a_comment() -> None:
    """The style rule (a `# source --> destination` comment on every rule), as the reader sees it: on
    the max config, every rule of every policy is named by a comment, none by its place."""
    from tools.paths import MAX_VALUES

    m = read_manifest(helm_template(yaml.safe_load(MAX_VALUES.read_text())))
    unnamed = [
        (key, d, i)
        for key, dirs in m.rules.names.items()
        for d, names in dirs.items()
        for i, n in enumerate(names)
        if not n
    ]
    assert not unnamed
    arrows = [n for dirs in m.rules.names.values() for names in dirs.values() for n in names if "-->" in n]
    extras = [n for dirs in m.rules.names.values() for names in dirs.values() for n in names if "-->" not in n]
    assert arrows and all(".extra" in n for n in extras), extras


def test_a_snapshot_borrows_names_for_equal_rules_only() -> None:
    m = read_manifest(MANIFEST)
    live = yaml.safe_load_all(MANIFEST)
    objs = snapshot.network_policies(snapshot.objects(live))
    objs[0]["spec"]["ingress"][0]["ports"][0]["port"] = 9443  # changed in the cluster: no longer the render's rule
    names = m.names_for(objs)
    assert names.name("ns", "a", "ingress", 0) == "ingress rule 1"
    assert names.name("ns", "a", "ingress", 1) == "b, c --> a: two lines of comment"
    assert RuleNames().or_else(names).name("ns", "a", "ingress", 1) == "b, c --> a: two lines of comment"


# ---------------------------------------------------------------- snapshots


POLICY = {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


@pytest.mark.parametrize(
    ("doc", "kinds"),
    [
        (
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", **POLICY}],
            },
            ["NetworkPolicy"],
        ),
        ({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicyList", "items": [POLICY]}, ["NetworkPolicy"]),
        # a plain List whose items lost their kind: a NetworkPolicy and a Pod by their shape, else none
        (
            {
                "kind": "List",
                "items": [POLICY, {"metadata": {"name": "x"}, "spec": {"containers": []}}, {"metadata": {}}],
            },
            ["NetworkPolicy", "Pod", None],
        ),
        (
            {"kind": "List", "items": [{"kind": "List", "items": [{"kind": "NetworkPolicy", **POLICY}]}]},
            ["NetworkPolicy"],
        ),
    ],
    ids=["kubectl", "typed-list", "kindless-items", "nested"],
)
def test_lists_are_unwrapped_with_kinds(doc, kinds) -> None:
    objs = snapshot.load(yaml.safe_dump(doc))
    assert [o.get("kind") for o in objs] == kinds
    for o in snapshot.network_policies(objs):
        assert o["apiVersion"] == "networking.k8s.io/v1" and o["metadata"]["name"] == "p"


def test_values_are_not_a_snapshot() -> None:
    assert not snapshot.is_snapshot([{"denyAllIngress": {"enabled": True}}])
    assert not snapshot.is_snapshot([{"kind": "x"}])  # a values key called kind, alone
    assert snapshot.is_snapshot([{"apiVersion": "v1", "kind": "List", "items": []}])


def test_bad_yaml_names_the_file() -> None:
    with pytest.raises(snapshot.SnapshotError, match=r"live\.yaml: not YAML"):
        snapshot.load("a: [", "live.yaml")
