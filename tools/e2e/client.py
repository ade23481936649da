"""A minimal JSON client for the Kubernetes API server (stdlib only: no kubectl needed), as the
e2e control plane (tools/e2e/controlplane.py) hands it out: create, read, list, server-side dry run."""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"  # never anything else: the machine's only allowed target
Obj = dict[str, Any]


class ApiError(Exception):
    def __init__(self, status: int, body: Obj, what: str) -> None:
        self.status, self.body = status, body
        super().__init__(f"{what}: HTTP {status}: {body.get('message', body)}")


class Client:
    """Minimal JSON client for the API server (stdlib only: no kubectl needed)."""

    def __init__(self, port: int, ca: Path, token: str) -> None:
        self.port, self.token = port, token
        self.ssl = ssl.create_default_context(cafile=str(ca))
        self._resources: dict[str, dict[str, tuple[str, bool]]] = {}
        self._namespaces: set[str] = set()  # known to exist (tests never delete namespaces)

    def request(
        self,
        method: str,
        path: str,
        body: Obj | str | None = None,
        query: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> tuple[int, Obj]:
        """A str body is sent as YAML, byte for byte (what the server's own YAML decoding makes of it)."""
        if query:
            path += "?" + urllib.parse.urlencode(query)
        raw_yaml = isinstance(body, str)
        payload = body if isinstance(body, str) or body is None else json.dumps(body)
        conn = http.client.HTTPSConnection(HOST, self.port, context=self.ssl, timeout=timeout)
        try:
            conn.request(
                method,
                path,
                body=payload,
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/yaml" if raw_yaml else "application/json",
                    "Accept": "application/json",
                },
            )
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {"message": raw.decode(errors="replace")}
        return resp.status, data

    def call(self, method: str, path: str, body: Obj | None = None, query: Mapping[str, str] | None = None) -> Obj:
        status, data = self.request(method, path, body, query)
        if status >= 300:
            raise ApiError(status, data, f"{method} {path}")
        return data

    # --- paths, from discovery (so any kind the server serves works) ---
    def _resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        if api_version not in self._resources:
            base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            found = self.call("GET", base)["resources"]
            self._resources[api_version] = {
                r["kind"]: (r["name"], r["namespaced"]) for r in found if "/" not in r["name"]
            }
        try:
            return self._resources[api_version][kind]
        except KeyError:
            raise ApiError(404, {"message": f"server has no kind {kind} in {api_version}"}, "discovery") from None

    def collection(self, api_version: str, kind: str, namespace: str | None = None) -> str:
        plural, namespaced = self._resource(api_version, kind)
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        if namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{plural}"
        return f"{base}/{plural}"  # cluster-scoped, or all namespaces for a list

    def path_of(self, obj: Mapping[str, Any]) -> str:
        md = obj.get("metadata", {})
        _, namespaced = self._resource(obj["apiVersion"], obj["kind"])
        ns = md.get("namespace") or ("default" if namespaced else None)
        return self.collection(obj["apiVersion"], obj["kind"], ns)

    # --- conveniences ---
    def create(self, obj: Obj, query: Mapping[str, str] | None = None) -> Obj:
        return self.call("POST", self.path_of(obj), obj, query)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj:
        return self.call("GET", f"{self.collection(api_version, kind, namespace)}/{name}")

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[Obj]:
        return list(self.call("GET", self.collection(api_version, kind, namespace))["items"])

    def network_policies(self, namespace: str | None = None) -> list[Obj]:
        return self.list_objects("networking.k8s.io/v1", "NetworkPolicy", namespace)

    def ensure_namespace(self, name: str) -> None:
        if name in self._namespaces:
            return
        status, data = self.request(
            "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        )
        if status not in (201, 409):  # 409: already exists
            raise ApiError(status, data, f"create namespace {name}")
        self._namespaces.add(name)

    def dry_run(self, objects: Iterable[Mapping[str, Any]], create_namespaces: bool = True) -> list[str]:
        """Server-side dry-run create of each object; returns one message per rejection.

        fieldValidation=Strict makes unknown or duplicate fields errors, as
        `kubectl apply --dry-run=server` does. Namespaces are created for real
        when asked: NamespaceLifecycle admission rejects objects in a missing
        namespace even under dryRun.
        """
        errors: list[str] = []
        for obj in objects:
            md = obj.get("metadata", {})
            what = f"{obj.get('kind')}/{md.get('namespace', '')}/{md.get('name', '')}"
            try:
                if create_namespaces and md.get("namespace"):
                    self.ensure_namespace(md["namespace"])
                self.create(dict(obj), {"dryRun": "All", "fieldValidation": "Strict"})
            except (ApiError, KeyError) as e:
                errors.append(f"{what}: {e}")
        return errors

    def server_view(self, obj: Mapping[str, Any]) -> Obj:
        """What the server would store for obj (defaults applied), without storing it.

        Uses generateName so it works while an object of that name exists.
        """
        md = dict(obj.get("metadata", {}))
        md["generateName"] = md.pop("name", "x") + "-"
        if md.get("namespace"):
            self.ensure_namespace(md["namespace"])
        return self.create({**obj, "metadata": md}, {"dryRun": "All", "fieldValidation": "Strict"})
