"""`make generate` / `make verify-generated`: see tools/generate/__init__.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.generate import Tree, stale, write


def graph(check: bool) -> bool:
    """docs/connectivity.{dot,svg} (needs the nca venv): True when current (check) or written."""
    from tools.connectivity import verify  # the connectivity chain: imported only when asked for

    if not check:
        verify.write_readme_graph()
        return True
    dot = verify.README_GRAPH.with_suffix(".dot")
    fresh = verify.readme_dot()
    return (
        dot.exists()
        and dot.read_text() == fresh
        and verify.README_GRAPH.exists()
        and verify.svg_stamp(verify.README_GRAPH.read_bytes()) == verify.dot_hash(fresh)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite every stale generated file")
    mode.add_argument("--check", action="store_true", help="exit 1 naming each stale file; write nothing")
    parser.add_argument("--graph", action="store_true", help="docs/connectivity.{dot,svg} too (runs nca)")
    parser.add_argument("--root", type=Path, default=Tree().root, help="the clone (default: this one)")
    args = parser.parse_args(argv)
    tree = Tree(args.root.resolve())
    if args.write:
        for path in write(tree):
            print(f"wrote {path.relative_to(tree.root)}")
        if args.graph and not graph(check=True):  # redrawn only when stale: Graphviz's SVG varies by version
            graph(check=False)
            print("wrote docs/connectivity.dot and docs/connectivity.svg")
        return 0
    bad = [str(path.relative_to(tree.root)) for path in stale(tree)]
    if args.graph and not graph(check=True):
        bad.append("docs/connectivity.svg")
    for name in bad:
        print(f"stale: {name} (run `make generate`)", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
