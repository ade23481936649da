"""`make explain`: why one connection is allowed or denied, naming the policies and rules responsible.

    python -m tools.connectivity.explain --from SRC --to DST --port N [--protocol TCP] [--values f] [--nca]

SRC and DST are the workloads `make verify` prints for the values (its fixture: `ep-operator`,
`jobmanager`, ...; `name@namespace` works too) or a block of the outside world (`outside`, and the
blocks the values' CIDRs name). Both ends count: the destination's ingress and the source's egress.

network-config-analyzer parses the rendered policies and answers: whether the connection is allowed
(its connectivity map), which policies select either end, and which of their rules admit it (each
rule's connections as nca computes them); rules are named by the `# source --> destination` comment
above them in the render (tools/connectivity/rules.py). nca's own `--explain` (--nca prints it)
explains pairs of workloads, not ports: it says which policies allow the pair on some port.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tools.connectivity.cluster import Cluster, cluster_for
from tools.connectivity.engine import PROTOCOL_NUMBERS, Ask, EngineError, Explanation, Scenario, analyze
from tools.connectivity.intervals import OUTSIDE_NAME
from tools.connectivity.rules import Manifest, read_manifest
from tools.connectivity.why import End, Rule, point_end, rules_of
from tools.render import NAMESPACE, RenderError, helm_template
from tools.values import Values, effective_values


class ExplainError(ValueError):
    pass


@dataclass
class Answer:
    src: str
    dst: str
    protocol: str
    port: int
    allowed: bool
    ingress: End  # the destination's
    egress: End  # the source's
    ingress_rules: list[Rule]  # every ingress rule of the policies isolating the destination
    egress_rules: list[Rule]
    explanation: Explanation
    selected_otherwise: bool  # the destination is selected by some policy, for egress only
    notes: list[str] = field(default_factory=list)

    @property
    def what(self) -> str:
        return f"{self.protocol} {self.port}"

    def lines(self) -> list[str]:
        head = f"{self.src} -> {self.dst}: {self.what}"
        ing, eg = self.ingress, self.egress
        out = [head, *self.notes]
        if self.allowed:
            parts = [f"by {r}" for r in ing.admitted_by]
            parts += [f"by {r} for {self.src}'s egress" for r in eg.admitted_by]
            who = "no ingress policy" if self.selected_otherwise else "no policy"
            if not parts:
                return [*out, f"allowed: {who} selects {self.dst}"]
            return [
                *out,
                "allowed " + ", and ".join(parts) + ("" if ing.isolated_by else f"; {who} selects {self.dst}"),
            ]
        if not ing.allows:
            out.append(
                f"denied: {self.dst} is isolated by {', '.join(ing.isolated_by)}, "
                f"and no rule admits {self.src} on {self.what}"
            )
            out += [f"  {self.dst}'s ingress rules (none admits this):"] if self.ingress_rules else []
            out += [f"    {r}" for r in self.ingress_rules] or [f"  {self.dst} admits nothing"]
        if not eg.allows:
            out.append(
                f"denied: {self.src}'s egress is isolated by {', '.join(eg.isolated_by)}, "
                f"and no rule lets it reach {self.dst} on {self.what}"
            )
            out += [f"  {self.src}'s egress rules (none admits this):"] if self.egress_rules else []
            out += [f"    {r}" for r in self.egress_rules] or [f"  {self.src} may dial nothing"]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def resolve(name: str, cluster: Cluster, role: str, notes: list[str]) -> str:
    """A workload of the fixture by name (or name@namespace); an unknown one lists the valid ones.
    `outside` is every address no CIDR of the values names; when they name them all, the largest
    block stands for it (and a note says which)."""
    valid = [w.name for w in cluster.all_workloads()]
    for w in cluster.all_workloads():
        if name in (w.name, f"{w.name}@{w.namespace}"):
            return w.name
    if name == OUTSIDE_NAME:
        biggest = max(cluster.ips, key=lambda a: sum(hi - lo + 1 for lo, hi in a.intervals))
        notes.append(f"({OUTSIDE_NAME}: the values' CIDRs name every address; the largest block, {biggest.name})")
        return biggest.name
    raise ExplainError(
        f"{role}={name}: no such workload for these values; valid: {', '.join([*valid, OUTSIDE_NAME])}"
        if OUTSIDE_NAME not in valid
        else f"{role}={name}: no such workload for these values; valid: {', '.join(valid)}"
    )


class Explainer:
    """The render, the fixture and the rule names for one values file; `answer` many connections in
    one nca run."""

    def __init__(self, user: Values) -> None:
        try:
            self.manifest: Manifest = read_manifest(helm_template(user))
        except RenderError as e:
            raise ExplainError(f"helm could not render the chart with these values:\n{e.stderr.strip()}") from e
        self.cluster = cluster_for(effective_values(user))

    def ask(self, src: str, dst: str, port: int, protocol: str = "TCP") -> tuple[Ask, list[str]]:
        """The question, checked: names resolved in the fixture (or refused, listing the valid ones)."""
        if protocol not in PROTOCOL_NUMBERS:
            raise ExplainError(f"PROTOCOL={protocol}: one of {', '.join(PROTOCOL_NUMBERS)}")
        if not 1 <= port <= 65535:
            raise ExplainError(f"PORT={port}: a port number, 1 to 65535")
        notes: list[str] = []
        s, d = resolve(src, self.cluster, "FROM", notes), resolve(dst, self.cluster, "TO", notes)
        if s == d:
            raise ExplainError(f"FROM and TO are both {s}: a pod talking to itself is not subject to NetworkPolicy")
        if self.cluster.workload(s).is_outside and self.cluster.workload(d).is_outside:
            raise ExplainError("FROM and TO are both outside the cluster: no NetworkPolicy applies")
        return Ask(s, d, protocol, port), notes

    def answer(self, asks: Sequence[tuple[Ask, list[str]]]) -> list[Answer]:
        """All in one nca scenario: the policies parsed once, every connection answered in one query."""
        m = self.manifest
        sc = Scenario(
            m.policies,
            self.cluster,
            "explain",
            NAMESPACE,
            explain=[a for a, _ in asks],
            locations=[m.location(p) for p in m.policies],
        )
        exs = analyze([sc])[0].explanations
        assert exs is not None
        return [self._answer(a, notes, ex) for (a, notes), ex in zip(asks, exs, strict=True)]

    def _answer(self, a: Ask, notes: list[str], ex: Explanation) -> Answer:
        names = self.manifest.rules
        ing = point_end(ex.policies, names, "ingress", a.dst)
        eg = point_end(ex.policies, names, "egress", a.src)
        if ex.allowed != (ing.allows and eg.allows):
            raise EngineError(
                f"{a.src} -> {a.dst} {a.protocol} {a.port}: nca's connectivity map says allowed={ex.allowed}, "
                f"its rules say ingress={ing.allows} egress={eg.allows}"
            )
        return Answer(
            a.src,
            a.dst,
            a.protocol,
            a.port,
            ex.allowed,
            ing,
            eg,
            rules_of(ex.policies, names, "ingress", a.dst),
            rules_of(ex.policies, names, "egress", a.src),
            ex,
            any(a.dst in p.selects for p in ex.policies),
            notes,
        )


def explain(user: Values, src: str, dst: str, port: int, protocol: str = "TCP") -> Answer:
    e = Explainer(user)
    return e.answer([e.ask(src, dst, port, protocol)])[0]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="src", required=True, help="source workload (as make verify names it)")
    ap.add_argument("--to", dest="dst", required=True, help="destination workload")
    ap.add_argument("--port", required=True, help="destination port")
    ap.add_argument("--protocol", default="TCP", help="TCP (default), UDP or SCTP")
    ap.add_argument("--values", type=Path, help="your values file (as for helm --values)")
    ap.add_argument("--nca", action="store_true", help="print network-config-analyzer's own --explain too")
    args = ap.parse_args(argv)
    try:
        user = (yaml.safe_load(args.values.read_text()) or {}) if args.values else {}
        if not str(args.port).isdigit():
            raise ExplainError(f"PORT={args.port}: a port number, 1 to 65535")
        answer = explain(user, args.src, args.dst, int(args.port), args.protocol.upper())
    except (ExplainError, OSError, yaml.YAMLError) as e:
        print(f"make explain: {e}", file=sys.stderr)
        return 2
    print(answer)
    if args.nca:
        print(
            "\nnetwork-config-analyzer --explain (it explains the pair, on any port):\n" + answer.explanation.nca.text
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
