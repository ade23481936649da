"""Batch driver for network-config-analyzer (nca), run with the nca venv's python.

    python nca-driver.py < batch.json          one batch in, one JSON answer out
    python nca-driver.py --serve               one batch per stdin line, one answer line each
    --no-cache                                 parse every scenario from scratch (to check the cache)

nca pins its own dependencies, so it cannot be imported by the harness: tools/connectivity/engine.py
starts this script by path, once per batch. It lives outside the harness's packages (tools/libexec/,
excluded from mypy; see pyproject.toml) for that reason. stdin: one JSON document
    {"scenarios": [{"id": str,
                    "namespaces": [{"name": str, "labels": {..}}],
                    "pods": [{"name": str, "namespace": str, "labels": {..},
                              "ports": [{"name", "containerPort", "protocol"}]}],  # ports: optional
                    "policies": [NetworkPolicy dict, ...],
                    "base_policies": [...],  # optional: semantic diff base -> policies
                    "attribute": bool,       # with base_policies: which rules the changes meet
                    "selected": true,        # optional: also which pods each policy selects
                    "explain": [{"src": peer, "dst": peer, "protocol": int, "port": int}]}]}  # optional
stdout: {"results": [{"id", "conns": [cube], "diff": {..}|null, "explain": [{..}]|null, "error": str|null,
                      "warnings": [str], "seconds": float,
                      "selected": [{"policy": "ns/name", "pods": [peer], "ingress": bool, "egress": bool}]}]}
A diff is {"differs", "text" (nca's report), "added": [cube], "removed": [cube]} and, with "attribute",
"rules": {"base": [policy], "new": [policy]}, where a policy is
    {"policy": "ns/name", "ingress": bool, "egress": bool (the directions it isolates),
     "selects": [peer], "ingress_rules": [[cube]], "egress_rules": [[cube]]}
with each rule's cubes cut down to the changed connections (what of the change the rule admits). An
explanation (one per connection asked about) is {"allowed": bool, "policies": [policy] (rule cubes cut
down to that connection: a rule admits it when its list is not empty), "nca": nca's own --explain}.
A cube is one hyper-rectangle of allowed connections as nca computes it:
    {"src": [peer], "dst": [peer], "protocols": [[lo, hi]] | "*", "dst_ports": [[lo, hi]] | "*",
     "other_dims": [dim names restricted beyond protocol/port]}
where a peer is "namespace/pod" or "ip:<cidr,...>". The harness expands cubes into flows.

Everything runs in this one process: the topology and policies are fed to nca's finders as dicts
(no temp files, no YAML re-parse), and the connectivity map query is subclassed so the allowed
connections are captured as nca's own ConnectivityProperties instead of being printed and re-parsed.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from typing import Any

from nca.CoreDS.ConnectivityProperties import ConnectivityProperties
from nca.CoreDS.Peer import BasePeerSet, IpBlock, PeerSet
from nca.CoreDS.PortSet import PortSet
from nca.CoreDS.ProtocolSet import ProtocolSet
from nca.FileScanners.GenericTreeScanner import YamlDict
from nca.NetworkConfig.NetworkConfig import NetworkConfig
from nca.NetworkConfig.NetworkConfigQuery import ConnectivityMapQuery, SemanticDiffQuery
from nca.NetworkConfig.PeerContainer import PeerContainer
from nca.NetworkConfig.PoliciesFinder import PoliciesFinder
from nca.NetworkConfig.TopologyObjectsFinder import NamespacesFinder, PodsFinder
from nca.Resources.PolicyResources.K8sNetworkPolicy import K8sNetworkPolicy
from nca.Utils.ExplTracker import ExplTracker
from nca.Utils.NcaLogger import NcaLogger
from nca.Utils.OutputConfiguration import OutputConfiguration

Json = dict[str, Any]
_PEER_DIMS = {"src_peers", "dst_peers", "protocols", "dst_ports"}


def peer_name(peer: Any) -> str:
    return f"ip:{peer.get_cidr_list_str()}" if isinstance(peer, IpBlock) else peer.full_name()


def intervals(values: Any) -> list[list[int]]:
    return [[int(i.start), int(i.end)] for i in values]


# nca reads a namespace's missing label as "" (PeerContainer.get_namespace_pods_with_label:
# `labels.get(key, '') in values`), so `namespaceSelector: {matchLabels: {k: ""}}` - OpenShift's
# policy-group.network.openshift.io/host-network: "" - selects EVERY namespace, and NotIn [""] none
# without the key. Kubernetes selects only namespaces that carry the key. The driver therefore renames
# the empty label value, consistently in labels and selectors, to a value no real label carries.
EMPTY = "nca-driver-empty-label-value"


def _labels(labels: dict[str, Any] | None) -> dict[str, Any]:
    return {k: (EMPTY if v == "" else v) for k, v in (labels or {}).items()}


def fix_empty_values(node: Any) -> Any:
    """A policy with every selector's empty label value renamed (see EMPTY)."""
    if isinstance(node, list):
        return [fix_empty_values(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "matchLabels" and isinstance(v, dict):
            out[k] = _labels(v)
        elif k == "matchExpressions" and isinstance(v, list):
            out[k] = [
                dict(e, values=[EMPTY if x == "" else x for x in e["values"]])
                if isinstance(e, dict) and isinstance(e.get("values"), list)
                else e
                for e in v
            ]
        else:
            out[k] = fix_empty_values(v)
    return out


def located(obj: Json, path: str, line: int = 0) -> Json:
    """`obj` as nca's YAML scanner hands it over (a dict that knows its file and line): nca's
    explainability tracker (--explain) records where each pod and policy came from."""
    out = YamlDict(obj)
    out.path, out.line_number = path, line
    return out


def build_topology(sc: Json) -> PeerContainer:
    ns_finder = NamespacesFinder()
    for ns in sc["namespaces"]:
        ns_finder.parse_yaml_code_for_ns(
            {"kind": "Namespace", "metadata": {"name": ns["name"], "labels": _labels(ns.get("labels"))}}
        )
    pods = PodsFinder()
    pods.namespaces_finder = ns_finder
    for pod in sc["pods"]:
        pods.add_eps_from_yaml(
            located(
                {
                    "kind": "Pod",
                    "apiVersion": "v1",
                    "metadata": {
                        "name": pod["name"],
                        "namespace": pod["namespace"],
                        "labels": _labels(pod.get("labels")),
                    },
                    "spec": {"containers": [{"name": "main", "ports": pod.get("ports") or []}]},
                },
                "fixture",
            )
        )
    return PeerContainer(pods.peer_set, ns_finder.namespaces, [], pods.representative_peers, PeerSet())


def build_config(
    name: str, peers: PeerContainer, policies: list[Json], locations: list[Json] | None = None
) -> NetworkConfig:
    finder = PoliciesFinder()
    finder.set_peer_container(peers)
    for i, pol in enumerate(policies):
        where = (locations or [])[i] if i < len(locations or []) else {}
        finder.parse_yaml_code_for_policy(
            located(fix_empty_values(pol), where.get("path", name), where.get("line", 0)), name
        )
    finder.parse_policies_in_parse_queue()
    return NetworkConfig(name=name, peer_container=peers, policies_finder=finder)


class CapturingConnectivityQuery(ConnectivityMapQuery):
    """nca's connectivity map, but keeping the final (IPv6-filtered) properties as cubes instead of
    formatting them as firewall rules, which is both the slowest step and a lossy one for our purpose."""

    cubes: list[Json] | None = None

    def get_props_output_full(self, props: ConnectivityProperties, all_peers: PeerSet) -> str:
        # read the cubes here, inside the query, as nca's own formatters do: the peer dimensions'
        # domains are the query's peers only until the query ends (then DimensionsManager resets)
        self.cubes = cubes(props, self.config.peer_container)
        return ""


def cubes(props: ConnectivityProperties, peers: PeerContainer) -> list[Json]:
    all_peers = peers.get_all_peers_group(True)
    out = []
    for cube in props:
        cc = props.get_connectivity_cube(cube)
        src = cc["src_peers"] or all_peers
        dst = cc["dst_peers"] or all_peers
        protocols = cc.get_dim_directly("protocols")
        ports = cc.get_dim_directly("dst_ports")
        out.append(
            {
                "src": sorted(peer_name(p) for p in src.split()),
                "dst": sorted(peer_name(p) for p in dst.split()),
                "protocols": "*" if cc.is_full_dim("protocols") else intervals(protocols),
                "dst_ports": "*" if cc.is_full_dim("dst_ports") else intervals(ports),
                "other_dims": sorted(d for d in cc.dimensions_list if d not in _PEER_DIMS and cc.is_active_dim(d)),
            }
        )
    return out


def policy_rules(config: NetworkConfig, props: ConnectivityProperties) -> list[Json]:
    """Every K8s policy of `config`: the directions it isolates, the pods it selects, and per rule (in
    the object's order) the part of `props` the rule admits. Call inside a query (peer domains)."""
    peers = config.peer_container
    out = []
    for policy in config.policies_container.policies.values():
        if not isinstance(policy, K8sNetworkPolicy):
            continue
        out.append(
            {
                "policy": policy.full_name(),
                "ingress": bool(policy.affects_ingress),
                "egress": bool(policy.affects_egress),
                "selects": sorted(peer_name(p) for p in policy.selected_peers),
                "ingress_rules": [cubes(props & rule.props, peers) for rule in policy.ingress_rules],
                "egress_rules": [cubes(props & rule.props, peers) for rule in policy.egress_rules],
            }
        )
    return out


class CapturingDiffQuery(SemanticDiffQuery):
    """nca's semantic diff, keeping the added and removed connections as cubes next to its report, and
    (attribute) what of them each rule of either side admits."""

    attribute = False
    report = True  # False: skip nca's text report (its firewall-rule minimisation is most of the cost)
    added: list[Json] | None = None
    removed: list[Json] | None = None
    rules: Json | None = None

    def get_changed_props_expl_data(
        self, key: str, ip_blocks: PeerSet, is_added: bool, props: ConnectivityProperties, peer_container: PeerContainer
    ) -> Any:
        if self.report:
            return super().get_changed_props_expl_data(key, ip_blocks, is_added, props, peer_container)
        # the report's cluster info (labels for firewall rules) is the costly part, and unused without it
        return SemanticDiffQuery.PropsAndExplanationData(props, None, None, peer_container)

    def get_results_for_computed_fw_rules(
        self, keys_list: Any, removed_props_per_key: Any, added_props_per_key: Any
    ) -> Any:
        added, removed = ConnectivityProperties.make_empty_props(), ConnectivityProperties.make_empty_props()
        for key in keys_list:
            if added_props_per_key.get(key) is not None:
                added |= added_props_per_key[key].props
            if removed_props_per_key.get(key) is not None:
                removed |= removed_props_per_key[key].props
        self.added = cubes(added, self.config2.peer_container)
        self.removed = cubes(removed, self.config1.peer_container)
        if self.attribute:
            changed = added | removed
            self.rules = {"base": policy_rules(self.config1, changed), "new": policy_rules(self.config2, changed)}
        if not self.report:
            changed_keys = [
                d for d in (*added_props_per_key.values(), *removed_props_per_key.values()) if d is not None and d.props
            ]
            return len(changed_keys), []
        return super().get_results_for_computed_fw_rules(keys_list, removed_props_per_key, added_props_per_key)


def point_peer(name: str, peers: PeerContainer) -> Any:
    """A pod by "namespace/name", or the one address of "ip:<address>"."""
    if name.startswith("ip:"):
        return IpBlock(name.removeprefix("ip:").split("/")[0] + "/32")
    found = [p for p in peers.get_all_peers_group() if p.full_name() == name]
    if not found:
        raise ValueError(f"explain: no peer {name!r} in the fixture")
    return found[0]


class ExplainQuery(CapturingConnectivityQuery):
    """nca's connectivity map with its explainability tracker on (`--explain`), answering for each
    connection asked about: is it allowed, which policies select either end, which rules admit it."""

    asks: list[Json] | None = None
    answers: list[Json] | None = None

    def get_props_output_full(self, props: ConnectivityProperties, all_peers: PeerSet) -> str:
        peers = self.config.peer_container
        self.answers = []
        for ask in self.asks or []:
            src, dst = point_peer(ask["src"], peers), point_peer(ask["dst"], peers)
            point = ConnectivityProperties.make_conn_props_from_dict(
                {
                    "src_peers": PeerSet({src}),
                    "dst_peers": PeerSet({dst}),
                    "protocols": ProtocolSet.get_protocol_set_with_single_protocol(ask["protocol"]),
                    "dst_ports": PortSet.make_port_set_with_range(ask["port"], ask["port"]),
                }
            )
            self.answers.append({"allowed": bool(point & props), "policies": policy_rules(self.config, point)})
        return super().get_props_output_full(props, all_peers)


def nca_explain(ask: Json) -> Json:
    """nca's own --explain for the pair, after the query: its text (policies and pods by file and line),
    whether it finds the pair connected (on any port: it explains pairs, not ports), and the policies it
    names on each end: those allowing the pair when connected, else every policy selecting that end.
    An outside address is named as the tracker's connectivity map splits the outside world; its policy
    maps are keyed by the blocks the rules name, which need not be the same split: for an address, the
    text is given, but `connected` is None and no policies are named."""
    tracker = ExplTracker()
    names, ip_end = [], False
    for end in (ask["src"], ask["dst"]):
        if end.startswith("ip:"):
            ip_end = True
            addr = IpBlock(end.removeprefix("ip:").split("/")[0] + "/32")
            block = next((p for p in tracker.all_peers if isinstance(p, IpBlock) and addr.contained_in(p)), None)
            if block is None:
                return {"text": "", "connected": None, "src": [], "dst": []}
            end = block.full_name()
        names.append(end)
    src, dst = names
    if ip_end:
        return {"text": str(tracker.explain(names)).strip(), "connected": None, "src": [], "dst": []}
    entries = tracker.ExplPeerToPolicyContainer
    connected = bool(tracker.are_peers_connected(src, dst))
    if connected:
        src_pols, dst_pols = entries[src].egress_dst.get(dst), entries[dst].ingress_src.get(src)
    else:
        src_pols, dst_pols = entries[src].all_policies, entries[dst].all_policies
    return {
        "text": str(tracker.explain(names)).strip(),
        "connected": connected,
        "src": sorted(set(src_pols or ()) - {ExplTracker.DEFAULT_POLICY}),
        "dst": sorted(set(dst_pols or ()) - {ExplTracker.DEFAULT_POLICY}),
    }


class Topologies:
    """Reuse across scenarios that share a fixture: the peer container and every parsed policy.
    A matrix sends thousands of scenarios over a couple of fixtures, mostly made of the same few
    policies, so parsing each policy once per fixture saves about a quarter of the time. nca itself
    runs many queries over the same parsed configs (its scheme files); each query restores the
    policies' properties when done (execute_and_compute_output_in_required_format)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.key: str | None = None
        self.peers: PeerContainer | None = None
        self.parsed: dict[str, Any] = {}

    def peers_for(self, sc: Json) -> PeerContainer:
        key = json.dumps([sc["namespaces"], sc["pods"]], sort_keys=True)
        if not self.enabled or key != self.key or self.peers is None:
            BasePeerSet.reset()  # nca keeps a process-wide peer registry, indexed per topology
            self.key, self.peers, self.parsed = key, build_topology(sc), {}
        return self.peers

    def config(self, name: str, peers: PeerContainer, policies: list[Json]) -> NetworkConfig:
        if not self.enabled:
            return build_config(name, peers, policies)
        finder = PoliciesFinder()
        finder.set_peer_container(peers)
        for pol in policies:
            # labels and annotations of the policy object itself do not change what it allows
            key = json.dumps(
                [pol.get("kind"), pol["metadata"].get("name"), pol["metadata"].get("namespace"), pol.get("spec")],
                sort_keys=True,
            )
            if key not in self.parsed:
                self.parsed[key] = list(build_config(name, peers, [pol]).policies_container.policies.values())
            for parsed in self.parsed[key]:
                finder.policies_container.append_policy(parsed)
        return NetworkConfig(name=name, peer_container=peers, policies_finder=finder)

    def forget(self) -> None:
        self.key, self.peers, self.parsed = None, None, {}


def run_scenario(sc: Json, topo: Topologies) -> Json:
    res: Json = {"id": sc.get("id"), "conns": [], "diff": None, "explain": None, "error": None}
    if "base_policies" in sc:
        # both sides over one topology, their policies from the cache: nca's CLI deep-copies the peers
        # for the base, which gives the same answer (checked on 300 matrix pairs) at a quarter more cost
        peers = topo.peers_for(sc)
        base = topo.config("base", peers, sc["base_policies"])
        new = topo.config("new", peers, sc["policies"])
        diff = CapturingDiffQuery(base, new, OutputConfiguration({"outputFormat": "txt", "outputEndpoints": "pods"}))
        diff.attribute = bool(sc.get("attribute"))
        diff.report = sc.get("report", True)
        num, text, not_executed = diff.execute_and_compute_output_in_required_format(True)
        res["diff"] = {
            "differs": bool(num),
            "text": text,
            "not_executed": bool(not_executed),
            "added": diff.added or [],
            "removed": diff.removed or [],
            # nca answers "the same set of policies" before computing anything: nothing to attribute
            "rules": diff.rules if diff.rules is not None or not diff.attribute else {"base": [], "new": []},
        }
        return res
    if "explain" in sc:
        return explain_scenario(sc, res, topo)
    peers = topo.peers_for(sc)
    config = topo.config(sc.get("id") or "scenario", peers, sc["policies"])
    query = CapturingConnectivityQuery(config, OutputConfiguration({"outputFormat": "txt", "outputEndpoints": "pods"}))
    _, _, not_executed = query.execute_and_compute_output_in_required_format()
    if not_executed or query.cubes is None:
        res["error"] = "nca did not execute the connectivity query (no peers?)"
        return res
    res["conns"] = query.cubes
    if sc.get("selected"):
        res["selected"] = selected(config)
    return res


def selected(config: NetworkConfig) -> list[Json]:
    """The pods each policy selects, and which directions it isolates them in, as nca parsed them."""
    return [
        {
            "policy": policy.full_name(),
            "pods": sorted(peer_name(p) for p in policy.selected_peers),
            "ingress": bool(policy.affects_ingress),
            "egress": bool(policy.affects_egress),
        }
        for policy in config.policies_container.policies.values()
    ]


def explain_scenario(sc: Json, res: Json, topo: Topologies) -> Json:
    """Connections explained: parsed afresh with nca's explainability tracker on (it records while
    pods and policies are parsed, so the caches cannot serve), and the tracker off again after."""
    topo.forget()
    BasePeerSet.reset()
    tracker = ExplTracker()
    tracker.activate("pods")
    try:
        peers = build_topology(sc)
        config = build_config(sc.get("id") or "scenario", peers, sc["policies"], sc.get("locations"))
        query = ExplainQuery(config, OutputConfiguration({"outputFormat": "txt", "outputEndpoints": "pods"}))
        query.asks = sc["explain"]
        _, _, not_executed = query.execute_and_compute_output_in_required_format()
        if not_executed or query.answers is None:
            res["error"] = "nca did not execute the connectivity query (no peers?)"
            return res
        res["conns"] = query.cubes or []
        res["explain"] = [{**a, "nca": nca_explain(ask)} for a, ask in zip(query.answers, sc["explain"], strict=True)]
        return res
    finally:
        tracker._reset()  # inactive again: later scenarios parse fast and record nothing
        topo.forget()


def run_batch(batch: Json, logger: NcaLogger, topo: Topologies) -> list[Json]:
    scenarios = batch["scenarios"]
    # group by fixture so the caches hit; answer in the caller's order
    order = sorted(
        range(len(scenarios)),
        key=lambda i: json.dumps([scenarios[i]["namespaces"], scenarios[i]["pods"]], sort_keys=True),
    )
    results: list[Json] = [{}] * len(scenarios)
    for i in order:
        sc = scenarios[i]
        t0 = time.perf_counter()
        try:
            res = run_scenario(sc, topo)
        except Exception as exc:  # one bad scenario must not sink the batch; report it instead
            topo.forget()
            res = {
                "id": sc.get("id"),
                "conns": [],
                "diff": None,
                "error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}",
            }
        res["seconds"] = round(time.perf_counter() - t0, 4)
        res["warnings"] = [str(msg) for msg, _ in logger._collected_messages]
        logger.flush_messages(silent=True)
        results[i] = res
    return results


def main(argv: list[str]) -> int:
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # nca prints warnings to stdout; keep stdout for our JSON only
    logger = NcaLogger()
    logger.mute()  # muted messages are collected; hand them back per scenario as warnings
    topo = Topologies(enabled="--no-cache" not in argv)
    if "--serve" in argv:  # one batch per input line, one answer line each: a long-lived engine
        for line in sys.stdin:
            if line.strip():
                real_stdout.write(json.dumps({"results": run_batch(json.loads(line), logger, topo)}) + "\n")
                real_stdout.flush()
        return 0
    json.dump({"results": run_batch(json.load(sys.stdin), logger, topo)}, real_stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
