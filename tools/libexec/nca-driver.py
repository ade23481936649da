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
                    "selected": true}]}      # optional: also which pods each policy selects
stdout: {"results": [{"id", "conns": [cube], "diff": {..}|null, "error": str|null,
                      "warnings": [str], "seconds": float,
                      "selected": [{"policy": "ns/name", "pods": [peer], "ingress": bool, "egress": bool}]}]}
A cube is one hyper-rectangle of allowed connections as nca computes it:
    {"src": [peer], "dst": [peer], "protocols": [[lo, hi]] | "*", "dst_ports": [[lo, hi]] | "*",
     "other_dims": [dim names restricted beyond protocol/port]}
where a peer is "namespace/pod" or "ip:<cidr,...>". The harness expands cubes into flows.

Everything runs in this one process: the topology and policies are fed to nca's finders as dicts
(no temp files, no YAML re-parse), and the connectivity map query is subclassed so the allowed
connections are captured as nca's own ConnectivityProperties instead of being printed and re-parsed.
"""

from __future__ import annotations

import copy
import json
import sys
import time
import traceback
from typing import Any

from nca.CoreDS.ConnectivityProperties import ConnectivityProperties
from nca.CoreDS.Peer import BasePeerSet, IpBlock, PeerSet
from nca.NetworkConfig.NetworkConfig import NetworkConfig
from nca.NetworkConfig.NetworkConfigQuery import ConnectivityMapQuery, SemanticDiffQuery
from nca.NetworkConfig.PeerContainer import PeerContainer
from nca.NetworkConfig.PoliciesFinder import PoliciesFinder
from nca.NetworkConfig.TopologyObjectsFinder import NamespacesFinder, PodsFinder
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
            {
                "kind": "Pod",
                "apiVersion": "v1",
                "metadata": {"name": pod["name"], "namespace": pod["namespace"], "labels": _labels(pod.get("labels"))},
                "spec": {"containers": [{"name": "main", "ports": pod.get("ports") or []}]},
            }
        )
    return PeerContainer(pods.peer_set, ns_finder.namespaces, [], pods.representative_peers, PeerSet())


def build_config(name: str, peers: PeerContainer, policies: list[Json]) -> NetworkConfig:
    finder = PoliciesFinder()
    finder.set_peer_container(peers)
    for pol in policies:
        finder.parse_yaml_code_for_policy(fix_empty_values(pol), name)
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
    res: Json = {"id": sc.get("id"), "conns": [], "diff": None, "error": None}
    if "base_policies" in sc:
        topo.forget()  # a diff builds two configs over its own copy of the topology
        BasePeerSet.reset()
        peers = build_topology(sc)
        # same topology for both sides: the base gets a deep copy, as nca's CLI does for pair queries
        base = build_config("base", copy.deepcopy(peers), sc["base_policies"])
        new = build_config("new", peers, sc["policies"])
        query = SemanticDiffQuery(base, new, OutputConfiguration({"outputFormat": "txt", "outputEndpoints": "pods"}))
        num, text, not_executed = query.execute_and_compute_output_in_required_format(True)
        res["diff"] = {"differs": bool(num), "text": text, "not_executed": bool(not_executed)}
        topo.forget()
        return res
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
