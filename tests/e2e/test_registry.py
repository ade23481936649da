"""The chart from an OCI registry, as users get it: `make publish` of the signed package to a real
registry (go-containerregistry's, on 127.0.0.1), `helm install oci://... --verify` against the real
API server with the server's objects compared to the render, and an umbrella chart resolving its
dependency from the registry (helm v4 and v3)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.test_lifecycle import Helm, assert_matches_render, installed, namespaces_of
from tests.test_package import REPO_URL, clean_env
from tools import paths
from tools.e2e.controlplane import ControlPlane
from tools.e2e.registry import Registry
from tools.gpg import Key, throwaway_key
from tools.render import parse, render
from tools.umbrella import chart_meta, dependency_build, helm_template_umbrella, make_umbrella

NAME, VERSION = chart_meta()["name"], str(chart_meta()["version"])
HELMS = {"helm4": paths.HELM, "helm3": paths.HELM3}


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    with Registry.start() as reg:
        yield reg


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Key]:
    with throwaway_key(tmp_path_factory.mktemp("signer")) as k:
        yield k


def make_publish(repo_url: str, key: Key, dist: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "make",
            "-C",
            str(paths.ROOT),
            "publish",
            f"REGISTRY={repo_url}",
            f"REPO_URL={REPO_URL}",
            "PLAIN_HTTP=1",
            f"SIGN_KEY={key.name}",
            f"KEYRING={key.secring}",
            f"DIST={dist}",
        ],
        env=clean_env(),
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def published(registry: Registry, key: Key, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The signed package pushed with `make publish`; returns the repository (oci://host/charts)."""
    repo = f"{registry.url}/charts"
    proc = make_publish(repo, key, tmp_path_factory.mktemp("dist"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"pushed {repo}/{NAME}:{VERSION}" in proc.stdout
    return repo


@pytest.fixture(params=sorted(HELMS))
def helm(request: pytest.FixtureRequest, controlplane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(HELMS[request.param], controlplane, tmp_path_factory.mktemp(request.param))


def test_publish_refuses_a_version_the_registry_already_holds(published: str, key: Key, tmp_path: Path) -> None:
    proc = make_publish(published, key, tmp_path)
    assert proc.returncode != 0
    assert f"{published}/{NAME} already has version {VERSION}" in proc.stderr


def test_install_from_the_registry_verified(helm: Helm, controlplane: ControlPlane, published: str, key: Key) -> None:
    """helm install oci://... --verify: helm fetches the .prov `make publish` pushed beside the chart,
    checks it with the signer's public key, and installs what the chart renders."""
    release, ns = "epnp-oci", f"{helm.binary.name}-oci"
    want = render({}, release=release, namespace=ns)
    for n in namespaces_of(want) | {ns}:
        controlplane.client.ensure_namespace(n)
    try:
        out = helm(
            "install",
            release,
            f"{published}/{NAME}",
            "--version",
            VERSION,
            "--plain-http",
            "--verify",
            "--keyring",
            str(key.pubring),
            "--namespace",
            ns,
        )
        assert f"NAME: {release}" in out
        assert_matches_render(controlplane, release, want)
    finally:
        subprocess.run(
            [str(helm.binary), "uninstall", release, "--namespace", ns], env=helm.env, capture_output=True, timeout=120
        )
    assert installed(controlplane, release) == {}


def test_install_verify_refuses_a_package_signed_by_another_key(helm: Helm, published: str, tmp_path: Path) -> None:
    with throwaway_key(tmp_path) as other:
        proc = subprocess.run(
            [
                str(helm.binary),
                "install",
                "epnp-oci-bad",
                f"{published}/{NAME}",
                "--version",
                VERSION,
                "--plain-http",
                "--verify",
                "--keyring",
                str(other.pubring),
                "--namespace",
                "default",
                "--dry-run=client",
            ],
            env=helm.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode != 0
    assert "unknown entity" in proc.stderr, proc.stderr


def test_the_published_chart_names_the_repository_it_was_published_with(published: str) -> None:
    shown = subprocess.run(
        [str(paths.HELM), "show", "chart", f"{published}/{NAME}", "--version", VERSION, "--plain-http"],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert yaml.safe_load(shown)["sources"] == [REPO_URL]


@pytest.mark.parametrize("helm_name", sorted(HELMS))
def test_show_readme_from_the_registry_is_the_charts(helm_name: str, published: str) -> None:
    def readme(ref: str, *flags: str) -> str:
        return subprocess.run(
            [str(HELMS[helm_name]), "show", "readme", ref, *flags],
            env=clean_env(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    assert readme(f"{published}/{NAME}", "--version", VERSION, "--plain-http") == readme(str(paths.CHART))


@pytest.mark.parametrize("helm_name", sorted(HELMS))
def test_umbrella_resolves_the_chart_from_the_registry(
    helm_name: str, published: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):  # helm's caches: private
        monkeypatch.setenv(var, str(tmp_path / var))
    helm = HELMS[helm_name]
    umbrella = make_umbrella(tmp_path / "umbrella", repository=published)
    dependency_build(umbrella, helm, "--plain-http")
    (fetched,) = (umbrella / "charts").glob("*.tgz")
    assert fetched.name == f"{NAME}-{VERSION}.tgz"
    sub: dict[str, Any] = {"denyAllIngress": {"enabled": True}}
    got = parse(helm_template_umbrella(umbrella, {"global": {"x": 1}, NAME: sub}, helm=helm))
    assert got == render(sub)
