"""Shared helpers for the engine tests: the spec page's own NetworkPolicy objects, from the facts file
(tools/facts/network-policies.yaml, whose transcription tests/test_facts.py checks against the page)."""

from __future__ import annotations

from typing import Any

import pytest

from tools import facts
from tools.scenarios import METRICS_PORT

DENY_ALL = "default-deny-ingress"


def load_page_policies() -> list[dict[str, Any]]:
    return facts.documented_objects(metrics_port=METRICS_PORT)


@pytest.fixture(scope="session")
def page_policies() -> list[dict[str, Any]]:
    return load_page_policies()


@pytest.fixture(scope="session")
def page_without_deny_all(page_policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in page_policies if p["metadata"]["name"] != DENY_ALL]
