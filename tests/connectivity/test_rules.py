"""Rule names from a manifest's comments (tools/connectivity/rules.py), and objects from `kubectl get
-o yaml` output (tools/kubelist.py)."""

from __future__ import annotations

import yaml

from tools import kubelist
from tools.connectivity.rules import RuleNames, read_manifest
from tools.paths import MAX_VALUES
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


def test_each_kafka_rule_is_named_by_its_destination() -> None:
    """`make diff` and `make explain` name a rule by its comment: a Kafka rule says where it goes (an
    address, pods in a namespace, or pods beside the sender)."""
    to = [
        {"cidr": "10.0.0.0/8"},
        {"namespace": "kafka", "podSelector": {"app": "kafka"}},
        {"podSelector": {"app": "kafka"}},
    ]
    m = read_manifest(helm_template({"flink": {"egress": {"enabled": True, "kafka": {"ports": [9092], "to": to}}}}))
    named = [n for dirs in m.rules.names.values() for names in dirs.values() for n in names if "--> Kafka" in n]
    assert named == [
        "Flink pods --> Kafka at 10.0.0.0/8",
        "Flink pods --> Kafka pods in kafka",
        "Flink pods --> Kafka pods",
    ]


def test_a_snapshot_borrows_names_for_equal_rules_only() -> None:
    m = read_manifest(MANIFEST)
    live = yaml.safe_load_all(MANIFEST)
    objs = kubelist.network_policies(kubelist.objects(live))
    objs[0]["spec"]["ingress"][0]["ports"][0]["port"] = 9443  # changed in the cluster: no longer the render's rule
    names = m.names_for(objs)
    assert names.name("ns", "a", "ingress", 0) == "ingress rule 1"
    assert names.name("ns", "a", "ingress", 1) == "b, c --> a: two lines of comment"
    assert RuleNames().or_else(names).name("ns", "a", "ingress", 1) == "b, c --> a: two lines of comment"


# ---------------------------------------------------------------- snapshots (tools/kubelist.py: tests/audit)


def test_values_are_not_a_snapshot() -> None:
    assert not kubelist.holds_objects([{"denyAllIngress": {"enabled": True}}])
    assert not kubelist.holds_objects([{"kind": "x"}])  # a values key called kind, alone
    assert kubelist.holds_objects([{"apiVersion": "v1", "kind": "List", "items": []}])
