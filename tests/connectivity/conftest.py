"""Shared helpers for the engine tests: the spec page's own NetworkPolicy objects."""
from __future__ import annotations

import os
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # `tools` is importable from the repo root

HERE = Path(__file__).parent
DENY_ALL = "default-deny-ingress"


def load_page_policies() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((HERE / "page_policies.yaml").read_text()) if d]


def spec_page() -> Path | None:
    """The spec page lives in shared/, beside the work tree (and beside CI's clone), not in the repo."""
    for cand in (os.environ.get("EPNP_SPEC"), ROOT.parent / "shared/spec/network-policies.md",
                 Path("/work/shared/spec/network-policies.md")):
        if cand and Path(cand).is_file():
            return Path(cand)
    return None


def parse_page_yaml(md: str, metrics_port: int = 9250) -> list[dict[str, Any]]:
    """The YAML objects of the page's ```yaml blocks, unwrapped from their `kubectl apply` heredocs."""
    docs: list[dict[str, Any]] = []
    for block in re.findall(r"```yaml\n(.*?)```", md, re.S):
        lines = [ln for ln in block.splitlines()
                 if not ln.strip().startswith(("kubectl", "EOF")) and not ln.lstrip().startswith("#")]
        text = textwrap.dedent("\n".join(lines)).replace("${METRICS_PORT_NUMBER}", str(metrics_port))
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


@pytest.fixture(scope="session")
def page_policies() -> list[dict[str, Any]]:
    return load_page_policies()


@pytest.fixture(scope="session")
def page_without_deny_all(page_policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in page_policies if p["metadata"]["name"] != DENY_ALL]
