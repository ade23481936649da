"""The chart as users get it: a reproducible archive, optionally signed, pushed to an OCI registry.

    python -m tools.dist package [--destination dist] [--repo-url URL] [--sign-key NAME [--keyring secring.gpg]]
    python -m tools.dist publish oci://host/path --repo-url URL [--destination dist] [--plain-http]

`make package` and `make publish` run these (tools/make/dist.mk).

Reproducible: helm v4 stamps every file of the archive with SOURCE_DATE_EPOCH, taken from the
commit's time, so two clones of one commit package byte-identical archives (file times are the only
thing that differs between clones; helm writes no owner, a fixed mode, files in lexical order and a
gzip header without a time). A signature (.prov) carries its own time, so only the .tgz is
reproducible.

The repository's address is not in the tree (nobody guesses it there): `--repo-url` (`make package
REPO_URL=...`) writes it into the packaged Chart.yaml only, as `sources`, an ArtifactHub link and the
contact of each maintainer who has none, by packaging a copy of the chart whose Chart.yaml says so (the
same bytes for the same URL and commit). Publishing requires it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tools.paths import CHART, HELM, ROOT


class DistError(RuntimeError):
    pass


REPO_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[^\s]*)?$")
REPOSITORY_LINK = "Source repository"


def with_repository(meta: dict[str, Any], repo_url: str) -> dict[str, Any]:
    """Chart.yaml's metadata naming the repository: in `sources`, as an ArtifactHub link, and as the
    contact of each maintainer who has neither a url nor an email."""
    if not REPO_URL.match(repo_url):
        raise DistError(f"REPO_URL must be an https:// address of the chart's repository, got {repo_url!r}")
    out = dict(meta)
    out["sources"] = [*[s for s in meta.get("sources") or [] if s != repo_url], repo_url]
    out["maintainers"] = [
        m if m.get("url") or m.get("email") else {**m, "url": repo_url} for m in meta.get("maintainers") or []
    ]
    annotations = dict(meta.get("annotations") or {})
    links = [
        link
        for link in yaml.safe_load(annotations.get("artifacthub.io/links") or "[]")
        if link["name"] != REPOSITORY_LINK
    ]
    links.append({"name": REPOSITORY_LINK, "url": repo_url})
    annotations["artifacthub.io/links"] = yaml.safe_dump(links, sort_keys=False)
    out["annotations"] = annotations
    return out


def _run(cmd: list[str], env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise DistError(f"{' '.join(cmd)}:\n{proc.stderr.strip()}")
    return proc.stdout


def source_date_epoch(repo: Path = ROOT) -> str:
    """SOURCE_DATE_EPOCH if the caller set it (reproducible-builds convention), else the commit's time."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return os.environ["SOURCE_DATE_EPOCH"]
    try:
        return _run(["git", "-C", str(repo), "log", "-1", "--format=%ct"]).strip()
    except DistError as e:
        raise DistError(f"no commit time to stamp the archive with (set SOURCE_DATE_EPOCH): {e}") from None


def package(
    destination: Path,
    *,
    chart: Path = CHART,
    helm: Path = HELM,
    sign_key: str | None = None,
    keyring: Path | None = None,
    passphrase_file: Path | None = None,
    repo_url: str | None = None,
) -> Path:
    """`helm package` (helm v4: SOURCE_DATE_EPOCH) into destination; with sign_key also the .prov.
    keyring is the *secret* keyring holding sign_key (`gpg --export-secret-keys`: helm reads only
    the legacy format). With repo_url, the packaged Chart.yaml names the repository (with_repository)."""
    cmd = [str(helm), "package", str(chart), "--destination", str(destination)]
    if sign_key:
        cmd += ["--sign", "--key", sign_key]
        if keyring:
            cmd += ["--keyring", str(keyring)]
        if passphrase_file:
            cmd += ["--passphrase-file", str(passphrase_file)]
    env = {**os.environ, "SOURCE_DATE_EPOCH": source_date_epoch(chart)}
    if repo_url is None:
        out = _run(cmd, env=env)
    else:
        with tempfile.TemporaryDirectory(prefix="epnp-package-") as work:
            copy = Path(work) / chart.name
            shutil.copytree(chart, copy, symlinks=True)
            meta = yaml.safe_load((chart / "Chart.yaml").read_text())
            (copy / "Chart.yaml").write_text(yaml.safe_dump(with_repository(meta, repo_url), sort_keys=False))
            cmd[2] = str(copy)
            out = _run(cmd, env=env)
    m = re.search(r"saved it to: (.+\.tgz)$", out, re.MULTILINE)
    if not m:
        raise DistError(f"helm package printed no archive path:\n{out}")
    return Path(m.group(1))


def publish(archive: Path, registry: str, *, helm: Path = HELM, plain_http: bool = False) -> str:
    """`helm push` archive (and its .prov, which helm pushes when it lies beside it) to registry.
    A version the registry already holds is refused: a released version never changes under its
    users (this replaces chart-testing's version-increment check; see ct.yaml)."""
    if not registry.startswith("oci://"):
        raise DistError(f"REGISTRY must be an oci:// reference, got {registry!r}")
    name, version = _name_version(archive, helm)
    ref = f"{registry.rstrip('/')}/{name}"
    flags = ["--plain-http"] if plain_http else []
    shown = subprocess.run(
        [str(helm), "show", "chart", ref, "--version", version, *flags], capture_output=True, text=True
    )
    if shown.returncode == 0:
        raise DistError(
            f"{ref} already has version {version}: bump `version` in Chart.yaml "
            "(a published version is never overwritten)"
        )
    _run([str(helm), "push", str(archive), registry, *flags])
    return f"{ref}:{version}"


def _name_version(archive: Path, helm: Path) -> tuple[str, str]:
    """Name and version from the archive's own Chart.yaml (the file name can't split them:
    both may contain '-')."""
    out = _run([str(helm), "show", "chart", str(archive)])
    meta = yaml.safe_load(out)
    return str(meta["name"]), str(meta["version"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.dist", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    pk = sub.add_parser("package", help="build the reproducible archive (and .prov with --sign-key)")
    pb = sub.add_parser("publish", help="package, then helm push to an oci:// registry")
    for p in (pk, pb):
        p.add_argument("--destination", type=Path, default=Path("dist"))
        p.add_argument("--sign-key", help="GnuPG key name/email to sign with (writes the .prov)")
        p.add_argument("--keyring", type=Path, help="secret keyring holding the key (legacy format)")
        p.add_argument("--passphrase-file", type=Path)
        p.add_argument("--repo-url", help="https:// address of the chart's repository, for the packaged Chart.yaml")
    pb.add_argument("registry", help="oci://host/path")
    pb.add_argument("--plain-http", action="store_true", help="registry without TLS (tests only)")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "publish" and not args.repo_url:
            raise DistError(
                "publishing needs REPO_URL (make publish REPO_URL=https://<the chart's repository> ...): "
                "the packaged Chart.yaml's sources and ArtifactHub link name it; the tree names no repository"
            )
        archive = package(
            args.destination,
            sign_key=args.sign_key,
            keyring=args.keyring,
            passphrase_file=args.passphrase_file,
            repo_url=args.repo_url,
        )
        print(f"packaged {archive}" + (f" and {archive}.prov" if args.sign_key else ""))
        if args.cmd == "publish":
            print(f"pushed {publish(archive, args.registry, plain_http=args.plain_http)}")
    except DistError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
