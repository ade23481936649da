"""Where things are: the clone, the chart, the facts, and the tool cache outside the clone."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The chart in the clone; EPNP_CHART points every test at another copy of it (tools/mutate
# runs the tests on a mutated private copy, never on this tree).
REPO_CHART = ROOT / "charts" / "ibm-ep-network-policies"
CHART = Path(os.environ["EPNP_CHART"]).resolve() if os.environ.get("EPNP_CHART") else REPO_CHART
FACTS = ROOT / "tools" / "facts" / "network-policies.yaml"
# The documentation page; CI lays shared/ beside the clone.
SPEC = ROOT.parent / "shared" / "spec" / "network-policies.md"

CACHE = Path(os.environ.get("EPNP_CACHE", Path.home() / ".cache" / "ep-netpol"))
BIN = CACHE / "bin"
HELM = BIN / "helm"
HELM3 = BIN / "helm3"
KUBECONFORM = BIN / "kubeconform"
HELM_UNITTEST = BIN / "helm-unittest"
SCHEMAS = CACHE / "schemas"
