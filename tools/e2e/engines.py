"""The NetworkPolicy dataplanes the lab can run: kube-router's firewall and Calico's felix, one at a
time in a lab's node namespace, both as the pinned tools `make tools` builds.

    engines("both")            -> [KUBE_ROUTER, CALICO]   (also "kube-router", "calico")
    Dataplane.start(engine=CALICO)                         (tools/e2e/dataplane.py)

An engine knows how to start itself in a lab (`spawn`, after the API objects it needs, `prepare`),
its version (from its binary), and the upstream defects it is known to have (`explains`: the named
defect behind a difference from the API, or ''). Everything else (pods, policies, the canary that
says when it has caught up, the probes) is the same for every engine.

Calico's felix runs in Kubernetes-datastore mode, without kubelet or CNI plugin: the lab's pods are
plain API objects whose node-side veth carries the name felix derives from the pod (`pod_veth` in
tools/e2e/lab.py). felix writes `/var/lib/calico/mtu` whatever it is told, and on iptables `auto` it
picks legacy and takes `/run/xtables.lock`: it runs in a private mount namespace inside the node's
network namespace with scratch directories bound over /var/lib and /run, so the host's files stay as
they were (tests/e2e/test_dataplane_host.py checks).
"""

from __future__ import annotations

import functools
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tools.connectivity.cluster import Workload
from tools.connectivity.model import Model, selector_matches
from tools.e2e.answers import Answer
from tools.e2e.kube import parallel
from tools.paths import BIN, CACHE

if TYPE_CHECKING:
    from tools.e2e.client import Client
    from tools.e2e.lab import Lab

Obj = dict[str, Any]

PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
SERVICE_RANGE = "100.127.255.0/24"  # kube-router's flag; bookkeeping only: no Service traffic in the lab
CALICO_CRDS = CACHE / "calico-crds"  # libcalico-go/config/crd/ of the pinned module, copied by tools.sh


class EngineError(RuntimeError):
    pass


@dataclass(frozen=True)
class Engine:
    name: str  # as `make dataplane ENGINE=` spells it
    answer: str  # its column among a probe's answers (documented, nca, kube-router, felix)
    binary: Path
    version_flag: str

    @property
    def log(self) -> str:
        """The name of its log in the lab's directory."""
        return self.answer

    def missing(self) -> str | None:
        """Why it cannot run here, or None."""
        if not (self.binary.is_file() and self.binary.stat().st_mode & 0o111):
            return f"{self.binary} missing: run `make tools`"
        return None

    @property
    def version(self) -> str:
        return _version(self.binary, self.version_flag)

    @property
    def title(self) -> str:
        """`kube-router v2.1.0`, `calico v3.31.0`: as the summary line names it."""
        return f"{self.name} {self.version}"

    def prepare(self, client: Client) -> None:
        """API objects the engine needs before it starts (the Node and namespaces are the lab's)."""

    def spawn(self, lab: Lab, kubeconfig: Path, node: str) -> None:
        raise NotImplementedError

    def explains(self, a: Answer, objs: Sequence[Obj], model: Model, by_name: Mapping[str, Workload]) -> str:
        """The named upstream defect that makes this engine answer `a` unlike the API, or ''."""
        return ""


@functools.cache
def _version(binary: Path, flag: str) -> str:
    """The version the binary reports (`v3.31.0`), else the one its Go build info records for its
    main module (`go version -m`: kube-router built by `go install` reports an empty version)."""
    for argv in ([str(binary), flag], ["go", "version", "-m", str(binary)]):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        for line in (out.stdout + out.stderr).splitlines():
            words = line.split()
            if argv[0] == "go":
                if words[:1] == ["mod"] and len(words) > 2:
                    return words[2]
                continue
            for word in words:
                if word.startswith("v") and word[1:2].isdigit():
                    return word.strip(",")
    return "unknown"


class KubeRouter(Engine):
    def spawn(self, lab: Lab, kubeconfig: Path, node: str) -> None:
        lab.spawn(
            self.log,
            [
                "ip",
                "netns",
                "exec",
                lab.node,
                str(self.binary),
                f"--kubeconfig={kubeconfig}",
                f"--hostname-override={node}",
                "--run-firewall=true",
                "--run-router=false",
                "--run-service-proxy=false",
                f"--service-cluster-ip-range={SERVICE_RANGE}",
                "--health-port=0",
                "--metrics-port=0",
                "-v=1",
            ],
            env={"NODE_NAME": node, "PATH": PATH},
        )

    def explains(self, a: Answer, objs: Sequence[Obj], model: Model, by_name: Mapping[str, Workload]) -> str:
        """The lab's pods declare no container ports, so every named port is unresolved."""
        if not a.dataplane or a.documented:
            return ""
        s, d = by_name[a.probe.src], by_name[a.probe.dst]
        for o in objs:
            spec, ns = o["spec"], o["metadata"]["namespace"]
            for direction, side, me, peer in (("ingress", "from", d, s), ("egress", "to", s, d)):
                if me.is_outside or me.namespace != ns or not selector_matches(spec.get("podSelector"), me.labels):
                    continue
                for rule in spec.get(direction) or []:
                    ports = rule.get("ports") or []
                    if not ports or not all(isinstance(p.get("port"), str) for p in ports):
                        continue
                    peers = rule.get(side) or []
                    if direction == "egress" and not peers:
                        continue  # no `to`: the name resolves to nothing, so nothing is opened
                    if not peers or any(model.k8s_peer(p, ns)(peer) for p in peers):
                        return KR_UNRESOLVED_NAMED_PORT
        return ""


# kube-router's defects the lab meets in the chart's renders (each reproduced alone in
# tests/e2e/test_dataplane.py); a difference is only ever excused by one of these, named.
KR_UNRESOLVED_NAMED_PORT = (
    "kube-router v2.1.0 bug: a rule whose ports are all names that no pod it applies to declares "
    "matches EVERY port (pkg/controllers/netpol/policy.go, processIngressRules/processEgressRules: "
    "`len(rule.ports) == 0 && len(rule.namedPorts) == 0` is taken for a rule without ports)"
)


# felix's environment. Each setting is here for a reason found by running it in this lab:
FELIX_ENV = {
    "DATASTORE_TYPE": "kubernetes",
    # on `auto` it picks legacy iptables (and creates /run/xtables.lock); the lab's are nft
    "FELIX_IPTABLESBACKEND": "nft",
    # exact spelling: without it the CGO-free binary panics in libbpf's stub cleaning BPF conntrack
    "FELIX_DebugSkipCTLBCleanup": "true",
    "FELIX_LOGFILEPATH": "none",
    "FELIX_LOGSEVERITYSYS": "none",
    "FELIX_LOGSEVERITYSCREEN": "Info",
    "FELIX_USAGEREPORTINGENABLED": "false",  # no call home
    "FELIX_IPV6SUPPORT": "false",
    "FELIX_HEALTHENABLED": "false",  # nothing listens; readiness is no signal anyway (the canary is)
    "FELIX_PROMETHEUSMETRICSENABLED": "false",
}
# Binds scratch dirs over /var/lib and /run in felix's own mount namespace, then becomes felix.
FELIX_MOUNTS = 'mount --bind "$1" /var/lib && mount --bind "$2" /run && exec "$3" --config-file="$4"'


class Calico(Engine):
    def missing(self) -> str | None:
        why = super().missing()
        if why is None and not any(CALICO_CRDS.glob("*.yaml")):
            why = f"{CALICO_CRDS} holds no CRDs: run `make tools`"
        return why

    def prepare(self, client: Client) -> None:
        """Every Calico CRD from the pinned module (with one missing felix polls for it), then the
        ClusterInformation that says the datastore is ready: without it felix waits forever."""
        crds = [yaml.safe_load(f.read_text()) for f in sorted(CALICO_CRDS.glob("*.yaml"))]
        path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"

        def create(crd: Obj) -> None:
            status, data = client.request("POST", path, crd)
            if status not in (201, 409):
                raise EngineError(f"CRD {crd['metadata']['name']}: HTTP {status}: {data.get('message', data)}")

        parallel(create, crds)
        deadline = time.monotonic() + 60
        pending = [c["metadata"]["name"] for c in crds]
        while pending:
            if time.monotonic() > deadline:
                raise EngineError(f"Calico CRDs not established after 60 s: {pending}")
            conds = {
                c["metadata"]["name"]: {x["type"]: x["status"] for x in (c.get("status") or {}).get("conditions") or []}
                for c in client.call("GET", path)["items"]
            }
            pending = [n for n in pending if conds.get(n, {}).get("Established") != "True"]
            if pending:
                time.sleep(0.1)
        body = {
            "apiVersion": "crd.projectcalico.org/v1",
            "kind": "ClusterInformation",
            "metadata": {"name": "default"},
            "spec": {"datastoreReady": True},
        }
        for _ in range(50):  # the new group can take a moment to reach discovery
            status, data = client.request("POST", "/apis/crd.projectcalico.org/v1/clusterinformations", body)
            if status in (201, 409):
                return
            time.sleep(0.1)
        raise EngineError(f"ClusterInformation default: HTTP {status}: {data.get('message', data)}")

    def spawn(self, lab: Lab, kubeconfig: Path, node: str) -> None:
        scratch = lab.dir / "felix"
        for d in ("lib", "run", "status"):
            (scratch / d).mkdir(parents=True, exist_ok=True)
        env = {
            **FELIX_ENV,
            "PATH": PATH,
            "KUBECONFIG": str(kubeconfig),
            "FELIX_FELIXHOSTNAME": node,
            "FELIX_ENDPOINTSTATUSPATHPREFIX": str(scratch / "status"),
        }
        lab.spawn(
            self.log,
            [
                "ip",
                "netns",
                "exec",
                lab.node,
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                FELIX_MOUNTS,
                "felix-mounts",
                str(scratch / "lib"),
                str(scratch / "run"),
                str(self.binary),
                str(scratch / "felix.cfg"),  # absent on purpose: a host's /etc/calico/felix.cfg is not read
            ],
            env=env,
        )


KUBE_ROUTER = KubeRouter("kube-router", "kube-router", BIN / "kube-router", "--version")
CALICO = Calico("calico", "felix", BIN / "calico-felix", "--version")
ENGINES: dict[str, Engine] = {e.name: e for e in (KUBE_ROUTER, CALICO)}
CHOICES = (*ENGINES, "both")


def engines(choice: str) -> list[Engine]:
    """`kube-router`, `calico` or `both` (in that order) -> the engines to run."""
    if choice == "both":
        return list(ENGINES.values())
    if choice not in ENGINES:
        raise EngineError(f"ENGINE={choice!r}: choose one of {', '.join(CHOICES)}")
    return [ENGINES[choice]]
