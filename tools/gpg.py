"""A throwaway GnuPG signing key for the signed-release tests (Debian's gpg, in a private GNUPGHOME).

    with throwaway_key(tmp) as key:
        helm package --sign --key key.name --keyring key.secring ...
        helm verify --keyring key.pubring chart.tgz

helm reads keys with Go's openpgp package, which knows only the legacy keyring files: the secret
key is exported (`gpg --export-secret-keys`) unprotected, the public key beside it. Any gpg-agent
the key generation started is killed when the block ends.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

NAME = "ep-netpol test signer"
EMAIL = "signer@example.invalid"


@dataclass(frozen=True)
class Key:
    name: str  # what `helm package --key` takes
    secring: Path  # for `helm package --sign --keyring`
    pubring: Path  # for `helm verify|install --verify --keyring`
    fingerprint: str


@contextmanager
def throwaway_key(directory: Path) -> Iterator[Key]:
    home = directory / "gnupg"
    home.mkdir(mode=0o700, parents=True)
    env = {**os.environ, "GNUPGHOME": str(home)}

    def gpg(*args: str, stdin: str | None = None) -> bytes:
        out: bytes = subprocess.run(
            ["gpg", "--batch", "--quiet", *args],
            env=env,
            input=stdin and stdin.encode(),
            capture_output=True,
            check=True,
        ).stdout
        return out

    try:
        # RSA: Go's openpgp (helm) reads no EdDSA keys. No passphrase: nothing to prompt for.
        gpg(
            "--gen-key",
            stdin=f"""%no-protection
Key-Type: RSA
Key-Length: 2048
Key-Usage: sign
Name-Real: {NAME}
Name-Email: {EMAIL}
Expire-Date: 1d
%commit
""",
        )
        secring, pubring = directory / "secring.gpg", directory / "pubring.gpg"
        secring.write_bytes(gpg("--export-secret-keys", EMAIL))
        pubring.write_bytes(gpg("--export", EMAIL))
        fpr = next(
            line.split(":")[9]
            for line in gpg("--with-colons", "--fingerprint", EMAIL).decode().splitlines()
            if line.startswith("fpr:")
        )
        yield Key(NAME, secring, pubring, fpr)
    finally:
        subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True)
