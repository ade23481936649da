"""The chart as users get it: a reproducible archive, optionally signed, pushed to an OCI registry.

    python -m tools.dist package [--destination dist] [--sign-key NAME [--keyring secring.gpg]]
    python -m tools.dist publish oci://host/path [--destination dist] [--plain-http]

`make package` and `make publish` run these (tools/make/dist.mk).

Reproducible: helm v4 stamps every file of the archive with SOURCE_DATE_EPOCH, taken from the
commit's time, so two clones of one commit package byte-identical archives (file times are the only
thing that differs between clones; helm writes no owner, a fixed mode, files in lexical order and a
gzip header without a time). A signature (.prov) carries its own time, so only the .tgz is
reproducible.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from tools.paths import CHART, HELM, ROOT


class DistError(RuntimeError):
    pass


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
) -> Path:
    """`helm package` (helm v4: SOURCE_DATE_EPOCH) into destination; with sign_key also the .prov.
    keyring is the *secret* keyring holding sign_key (`gpg --export-secret-keys`: helm reads only
    the legacy format)."""
    cmd = [str(helm), "package", str(chart), "--destination", str(destination)]
    if sign_key:
        cmd += ["--sign", "--key", sign_key]
        if keyring:
            cmd += ["--keyring", str(keyring)]
        if passphrase_file:
            cmd += ["--passphrase-file", str(passphrase_file)]
    out = _run(cmd, env={**os.environ, "SOURCE_DATE_EPOCH": source_date_epoch(chart)})
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
    pb.add_argument("registry", help="oci://host/path")
    pb.add_argument("--plain-http", action="store_true", help="registry without TLS (tests only)")
    args = ap.parse_args(argv)
    try:
        archive = package(
            args.destination, sign_key=args.sign_key, keyring=args.keyring, passphrase_file=args.passphrase_file
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
