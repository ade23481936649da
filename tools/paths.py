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
# The page as it reads for EP 1.1 to 1.5: what differs from the 1.0 page, and its objects.
FACTS_EP15 = ROOT / "tools" / "facts" / "network-policies-ep-1.5.yaml"
# The documentation pages; CI lays shared/ beside the clone.
SPEC = ROOT.parent / "shared" / "spec" / "network-policies.md"
SPEC_EP15 = ROOT.parent / "shared" / "spec" / "network-policies-ep-1.5.md"

CACHE = Path(os.environ.get("EPNP_CACHE", Path.home() / ".cache" / "ep-netpol"))
BIN = CACHE / "bin"
HELM = BIN / "helm"
HELM3 = BIN / "helm3"
KUBECONFORM = BIN / "kubeconform"
HELM_UNITTEST = BIN / "helm-unittest"
SCHEMAS = CACHE / "schemas"
# Values files: the worked examples (users start from these) and chart-testing's ci/ folder, where
# each example is a symlink (ci/<name>-values.yaml -> ../examples/<name>.yaml) beside the defaults
# (default-values.yaml) and the max config (max-values.yaml, its only copy).
EXAMPLES = CHART / "examples"
CI_VALUES = CHART / "ci"
MAX_VALUES = CI_VALUES / "max-values.yaml"


def examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.yaml"))
