"""Where things are: the clone, the chart, the facts, and the tool cache outside the clone."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The chart in the clone; EPNP_CHART points every test at another copy of it (tools/mutate
# runs the tests on a mutated private copy, never on this tree).
REPO_CHART = ROOT / "charts" / "ibm-ep-network-policies"
CHART = Path(os.environ["EPNP_CHART"]).resolve() if os.environ.get("EPNP_CHART") else REPO_CHART
# One facts file per version of the documentation page (tools/facts: the page's `page:` block).
FACTS_DIR = ROOT / "tools" / "facts"
# The documentation pages' text (IBM's, not kept in the clone; docs/spec-pages.md): shared/spec/
# beside the clone, as CI lays it out, or EPNP_SPEC_DIR.
SPEC_DIR = Path(os.environ.get("EPNP_SPEC_DIR") or ROOT.parent / "shared" / "spec").resolve()

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
