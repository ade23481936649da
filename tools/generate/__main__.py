"""`make generate` / `make verify-generated`: see tools/generate/__init__.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.connectivity.picture import PictureError
from tools.generate import Tree, stale, write
from tools.generate.changelog import ChangelogError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite every stale generated file")
    mode.add_argument("--check", action="store_true", help="exit 1 naming each stale file; write nothing")
    parser.add_argument("--root", type=Path, default=Tree().root, help="the clone (default: this one)")
    args = parser.parse_args(argv)
    tree = Tree(args.root.resolve())
    try:
        return run(tree, write_files=args.write)
    except ChangelogError as e:
        print(e, file=sys.stderr)
        return 1


def run(tree: Tree, *, write_files: bool) -> int:
    if write_files:
        try:
            written = write(tree)
        except PictureError as e:
            print(e, file=sys.stderr)
            return 1
        for path in written:
            print(f"wrote {path.relative_to(tree.root)}")
        return 0
    bad = [str(path.relative_to(tree.root)) for path in stale(tree)]
    for name in bad:
        print(f"stale: {name} (run `make generate`)", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
