"""The three lists the audit reads, from a live API server: read-only, paged GETs of every namespace,
pod and NetworkPolicy, as the server lists them (items without `kind`: tools.kubelist names them)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from tools.audit.kubeconfig import ApiError, Connection

Obj = dict[str, Any]
PATHS = ("/api/v1/namespaces", "/api/v1/pods", "/apis/networking.k8s.io/v1/networkpolicies")
PAGE = 500  # items per GET, as kubectl pages


def fetch(conn: Connection) -> list[Obj]:
    """One list document per kind, every page joined."""
    out = []
    for path in PATHS:
        items: list[Obj] = []
        cont = ""
        while True:
            query = {"limit": str(PAGE), **({"continue": cont} if cont else {})}
            page = conn.get(f"{path}?{urllib.parse.urlencode(query)}")
            if not isinstance(page.get("items"), list):
                raise ApiError(f"{conn.description}: GET {path}: the answer is not a list")
            items += page["items"]
            cont = (page.get("metadata") or {}).get("continue") or ""
            if not cont:
                break
        out.append({"kind": page.get("kind"), "apiVersion": page.get("apiVersion"), "items": items})
    return out
