"""Signed releases: `make package SIGN_KEY=... KEYRING=...` writes the .prov, `helm verify` (v4 and
v3) accepts the archive with the signer's public key and refuses a tampered archive, a tampered
.prov, or a signature by another key. (Installing from the registry with --verify: tests/e2e.)"""

from __future__ import annotations

import gzip
import io
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_package import make_package
from tools import paths
from tools.gpg import EMAIL, NAME, Key, throwaway_key

HELMS = {"helm4": paths.HELM, "helm3": paths.HELM3}


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Key]:
    with throwaway_key(tmp_path_factory.mktemp("signer")) as k:
        yield k


@pytest.fixture(scope="module")
def signed(key: Key, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_package(paths.ROOT, tmp_path_factory.mktemp("dist"), f"SIGN_KEY={key.name}", f"KEYRING={key.secring}")


def verify(helm: str, archive: Path, pubring: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HELMS[helm]), "verify", str(archive), "--keyring", str(pubring)], capture_output=True, text=True
    )


@pytest.mark.parametrize("helm", sorted(HELMS))
def test_signed_package_verifies(helm: str, signed: Path, key: Key) -> None:
    assert Path(f"{signed}.prov").is_file()
    proc = verify(helm, signed, key.pubring)
    assert proc.returncode == 0, proc.stderr
    assert f"Signed by: {NAME} <{EMAIL}>" in proc.stdout
    assert key.fingerprint.lower() in proc.stdout.lower()


def copy_with_prov(archive: Path, dest: Path, data: bytes) -> Path:
    dest.mkdir()
    out = dest / archive.name
    out.write_bytes(data)
    Path(f"{out}.prov").write_bytes(Path(f"{archive}.prov").read_bytes())
    return out


def retarred_with_values_changed(archive: Path) -> bytes:
    """The archive unpacked, values.yaml changed (the operator policy off), packed again."""
    src = io.BytesIO()
    with tarfile.open(archive) as tin, tarfile.open(fileobj=src, mode="w") as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read()  # type: ignore[union-attr]
            if m.name.endswith("/values.yaml"):
                assert b"deployOperatorNetworkPolicy: true" in data
                data = data.replace(b"deployOperatorNetworkPolicy: true", b"deployOperatorNetworkPolicy: false")
                m.size = len(data)
            tout.addfile(m, io.BytesIO(data))
    return gzip.compress(src.getvalue(), mtime=0)


@pytest.mark.parametrize("helm", sorted(HELMS))
@pytest.mark.parametrize("tamper", ["one-byte", "file-changed-and-retarred"])
def test_tampered_archive_fails_verification(helm: str, tamper: str, signed: Path, key: Key, tmp_path: Path) -> None:
    data = bytearray(signed.read_bytes())
    if tamper == "one-byte":
        data[len(data) // 2] ^= 0x01
    else:
        data = bytearray(retarred_with_values_changed(signed))
    proc = verify(helm, copy_with_prov(signed, tmp_path / "t", bytes(data)), key.pubring)
    assert proc.returncode != 0
    assert "sha256 sum does not match" in proc.stderr


@pytest.mark.parametrize("helm", sorted(HELMS))
def test_tampered_provenance_fails_verification(helm: str, signed: Path, key: Key, tmp_path: Path) -> None:
    """The signed text changed (the chart's description): the signature no longer matches it."""
    out = copy_with_prov(signed, tmp_path / "t", signed.read_bytes())
    prov = Path(f"{out}.prov")
    text = prov.read_text()
    assert "description:" in text
    prov.write_text(text.replace("description:", "description: not", 1))
    proc = verify(helm, out, key.pubring)
    assert proc.returncode != 0
    assert "signature" in proc.stderr.lower() or "openpgp" in proc.stderr.lower(), proc.stderr


@pytest.mark.parametrize("helm", sorted(HELMS))
def test_signature_by_another_key_fails_verification(helm: str, signed: Path, tmp_path: Path) -> None:
    with throwaway_key(tmp_path) as other:
        proc = verify(helm, signed, other.pubring)
    assert proc.returncode != 0
    assert "unknown entity" in proc.stderr, proc.stderr
