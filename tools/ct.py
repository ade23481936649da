"""chart-testing's `ct lint` as the chart's CI runs it: ct.yaml at the repository root, ct's own
yamllint and yamale configs, and one helm major at a time.

    python -m tools.ct            (make ct) ct lint --all on helm v4, then helm v3

ct runs `helm` from PATH, so each run gets a PATH whose first entry holds only a `helm` link to the
binary under test; yamllint and yamale come from the harness venv.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tools.paths import BIN, CACHE, HELM, HELM3, ROOT

CT = BIN / "ct"
CT_ETC = CACHE / "ct-etc"  # etc/ of ct's module: lintconf.yaml, chart_schema.yaml
VENV_BIN = CACHE / "venv" / "bin"
CONFIG = ROOT / "ct.yaml"
HELMS = {"helm4": HELM, "helm3": HELM3}


def lint(helm: Path, charts: Sequence[Path] = (), cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`ct lint` with helm as PATH's helm: over every chart of ct.yaml's chart-dirs, or `charts`."""
    with tempfile.TemporaryDirectory(prefix="epnp-ct-") as tmp:
        (Path(tmp) / "bin").mkdir()
        (Path(tmp) / "bin" / "helm").symlink_to(helm)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
        env.update(
            PATH=os.pathsep.join([f"{tmp}/bin", str(VENV_BIN), env.get("PATH", "/usr/bin:/bin")]),
            # `helm dependency build` (ct runs it first) writes helm's cache: keep it private
            HELM_CACHE_HOME=f"{tmp}/cache",
            HELM_CONFIG_HOME=f"{tmp}/config",
            HELM_DATA_HOME=f"{tmp}/data",
        )
        cmd = [
            str(CT),
            "lint",
            "--config",
            str(CONFIG),
            "--lint-conf",
            str(CT_ETC / "lintconf.yaml"),
            "--chart-yaml-schema",
            str(CT_ETC / "chart_schema.yaml"),
        ]
        cmd += ["--charts", ",".join(map(str, charts))] if charts else ["--all"]
        return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)


def main() -> int:
    failed = 0
    for name, helm in HELMS.items():
        print(f"== ct lint with {name} ({helm})", flush=True)
        proc = lint(helm)
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        failed |= proc.returncode != 0
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
