"""The README's connectivity picture (docs/connectivity.dot and .svg, `make generate`) and the sentence
beside it: the documented flows of the whole page's values (tools/scenarios.py FULL_PAGE), drawn by
tools/connectivity/picture.py, and only when network-config-analyzer computes the same flows from the
rendered policies."""

from __future__ import annotations

from tools.connectivity.cluster import cluster_for
from tools.connectivity.engine import Scenario, analyze
from tools.connectivity.model import compare
from tools.connectivity.picture import PictureError, documented_picture, to_dot
from tools.render import render
from tools.scenarios import FULL_PAGE, METRICS_PORT
from tools.values import Values, effective_values

# The values the README's picture shows: the defaults with the deny-all and the Flink metrics on.
PICTURE_VALUES: Values = FULL_PAGE
README_CAPTION = f"chart defaults + denyAllIngress.enabled=true + flink.metrics (port {METRICS_PORT})"


def readme_dot() -> str:
    return to_dot(documented_picture(PICTURE_VALUES), README_CAPTION)


def nca_disagreement(values: Values = PICTURE_VALUES) -> str:
    """ "" when nca computes, from the chart rendered with `values`, exactly the documented flows (TCP,
    UDP, SCTP); else the flows that differ."""
    v = effective_values(values)
    cluster = cluster_for(v)
    policies = [d for d in render(values) if isinstance(d, dict) and d.get("kind") == "NetworkPolicy"]
    diff = compare(v, analyze([Scenario(policies, cluster, "picture")])[0], cluster)
    return str(diff) if diff else ""


def check_readme_picture() -> None:
    """Raise naming the flows when nca contradicts the documented flows the README's picture shows."""
    if problem := nca_disagreement():
        raise PictureError(f"network-config-analyzer disagrees with the documented flows; not drawn:\n{problem}")


# What has checked the flows the picture shows, for the sentence beside it in docs/connectivity.md (the generated
# section `connectivity-status`). A new check adds its line here.
CHECKS = (
    "[network-config-analyzer](https://github.com/IBM/network-config-analyzer) computes exactly these flows "
    "from the rendered policies (`make generate` draws nothing otherwise; `make test` checks it)",
    # the picture's values are a coverage case of the dataplane (tools/e2e/cases.py; test_picture.py)
    "`make dataplane` and `make test` probe every pair of these pods with real TCP and UDP connections on "
    "kube-router, a real NetworkPolicy dataplane: each arrow connects and nothing else does, as the page and "
    "nca say ([dataplane.md](dataplane.md))",
)


def status() -> str:
    return (
        "Each arrow is a documented flow (the page's facts, `tools/facts/`, for these values). Checked: "
        + "; ".join(CHECKS)
        + "."
    )
