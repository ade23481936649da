"""The harness's layers are kept: data flows one way, values -> render -> policies -> flows -> checks.

Every module of tools/ has a layer (LAYERS, by longest dotted prefix) and imports only from its own
layer or lower ones; the checks (drivers such as the matrix, the e2e suites, the generator) import no
other check unless CHECK_EDGES says why; no module imports another's `_private` name; and no function
imports a project module (an import hidden in a function hides an edge) unless LOCAL_IMPORTS says why.
A new module fails here until it is given a layer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.paths import ROOT

ORDER = ("base", "values", "render", "policies", "flows", "checks")
LAYERS = {
    # where things are, and the data read as it is: the facts (the oracle), the chart's group table,
    # the values schema
    "tools": "base",
    "tools.paths": "base",
    "tools.facts": "base",
    "tools.groups": "base",
    # YAML read fast, and strictly (no repeated keys) where the API server is
    "tools.yamlio": "base",
    "tools.values_schema": "base",
    # `kubectl get -o yaml` output read as objects (the live cluster's policies, pods, namespaces)
    "tools.kubelist": "base",
    # the chart at an earlier commit of the clone (git, no checkout)
    "tools.chart_history": "base",
    # chart values as helm sees them, and the values scenarios the checks share
    "tools.values": "values",
    "tools.scenarios": "values",
    # helm: values in, objects out
    "tools.render": "render",
    "tools.umbrella": "render",
    "tools.connectivity.batch": "render",
    # the rendered policies, read
    "tools.policy": "policies",
    # who may reach whom: the fixture cluster, the documented model, nca, the picture
    "tools.connectivity": "flows",
    # what compares them and reports: each prefix below is one check
    "tools.connectivity.verify": "checks",
    "tools.connectivity.matrix": "checks",
    "tools.connectivity.diff": "checks",
    "tools.connectivity.explain": "checks",
    "tools.audit": "checks",
    "tools.e2e": "checks",
    "tools.generate": "checks",
    "tools.mutate": "checks",
    "tools.bench": "checks",
    "tools.ct": "checks",
    "tools.dist": "checks",
    "tools.gpg": "checks",
    "tools.schemas": "checks",
}
# Checks that use another check, and why (anything else: move the shared part down a layer).
CHECK_EDGES = {
    ("tools.bench", "tools.e2e"): "make bench times the dataplane suite, which it runs (tools/bench/dataplane.py)",
}
# Function-local imports of project modules, and why ((module, imported module) -> reason).
LOCAL_IMPORTS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the project module imported (or whose name is)
    names: tuple[str, ...]  # the names imported from it ("" for `import x`)
    line: int
    local: bool  # inside a function

    def __str__(self) -> str:
        names = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.module}:{self.line} imports {self.target}{names}"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_files() -> dict[str, Path]:
    """Every importable module of tools/ and tests/ (tools/libexec holds scripts run by path)."""
    files = [*sorted((ROOT / "tools").rglob("*.py")), *sorted((ROOT / "tests").rglob("*.py"))]
    return {module_name(p): p for p in files if "libexec" not in p.parts}


def imports_of(module: str, tree: ast.AST, known: set[str]) -> Iterator[Import]:
    """The project imports of a module's syntax tree; `from a import b` is module a.b when a.b is one."""

    def walk(node: ast.AST, local: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            inside = local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] in ("tools", "tests"):
                        yield Import(module, alias.name, (), child.lineno, local)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                if child.module.split(".")[0] not in ("tools", "tests"):
                    continue
                plain = tuple(a.name for a in child.names if f"{child.module}.{a.name}" not in known)
                if plain:
                    yield Import(module, child.module, plain, child.lineno, local)
                for a in child.names:
                    if f"{child.module}.{a.name}" in known:
                        yield Import(module, f"{child.module}.{a.name}", (), child.lineno, local)
            yield from walk(child, inside)

    yield from walk(tree, False)


def all_imports() -> list[Import]:
    files = project_files()
    return [i for m, p in files.items() for i in imports_of(m, ast.parse(p.read_text(), str(p)), set(files))]


def prefix(module: str) -> str | None:
    """The LAYERS key that places `module`: the longest dotted prefix of it ("tools" places only itself,
    so a new top-level module must be placed)."""
    found = [k for k in LAYERS if module == k or (k != "tools" and module.startswith(k + "."))]
    return max(found, key=len) if found else None


def layer(module: str) -> str:
    key = prefix(module)
    assert key, f"{module} has no layer"
    return LAYERS[key]


def back_edges(imports: list[Import]) -> list[str]:
    """Imports from a higher layer, and between two checks CHECK_EDGES does not list."""
    out = []
    for i in imports:
        if not i.module.startswith("tools") or i.module == "tools":
            continue
        src, dst = layer(i.module), layer(i.target)
        check, other = prefix(i.module), prefix(i.target)
        if ORDER.index(dst) > ORDER.index(src):
            out.append(f"{i}: {src} must not import {dst} ({' -> '.join(ORDER)})")
        elif src == dst == "checks" and check != other and (check, other) not in CHECK_EDGES:
            out.append(f"{i}: a check imports another check ({other}): move what they share down a layer")
    return out


def test_every_harness_module_has_a_layer() -> None:
    unplaced = [m for m in project_files() if m.startswith("tools") and prefix(m) is None]
    assert not unplaced, f"give these modules a layer in LAYERS: {unplaced}"
    assert set(LAYERS.values()) <= set(ORDER)
    assert prefix("tools.new_module") is None


def test_imports_point_down_the_layers() -> None:
    problems = back_edges(all_imports())
    assert not problems, "\n".join(problems)


def test_every_allowed_edge_is_still_used() -> None:
    """An allow-list entry nothing needs any more is removed, so the lists say only what is true."""
    imports = all_imports()
    used = {(prefix(i.module), prefix(i.target)) for i in imports}
    assert set(CHECK_EDGES) <= used, set(CHECK_EDGES) - used
    assert set(LOCAL_IMPORTS) <= {(i.module, i.target) for i in imports if i.local}


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")  # `_x`, not `__main__`


def test_no_private_name_is_imported_across_modules() -> None:
    private = [
        str(i) for i in all_imports() if any(map(is_private, i.names)) or any(map(is_private, i.target.split(".")))
    ]
    assert not private, "make these public (or keep them where they are used):\n" + "\n".join(private)


def test_no_function_imports_a_project_module() -> None:
    local = [str(i) for i in all_imports() if i.local and (i.module, i.target) not in LOCAL_IMPORTS]
    assert not local, "import at module level (or say why in LOCAL_IMPORTS):\n" + "\n".join(local)


@pytest.mark.parametrize(
    ("module", "source", "problem"),
    [
        ("tools.connectivity.documented", "from tools.generate.readme import rows", "flows must not import checks"),
        ("tools.values", "import tools.render", "values must not import render"),
        ("tools.e2e.cases", "from tools.connectivity.matrix import LAYOUTS", "a check imports another check"),
    ],
)
def test_a_back_edge_is_named(module: str, source: str, problem: str) -> None:
    """The checks above can fail: a synthetic import in the wrong direction is reported."""
    known = set(project_files())
    [problem_found] = back_edges(list(imports_of(module, ast.parse(source), known)))
    assert problem in problem_found and module in problem_found


def test_a_hidden_or_private_import_is_seen() -> None:
    source = "def f():\n    from tools.e2e.controlplane import _free_port\n"
    [i] = imports_of("tools.e2e.lab", ast.parse(source), set(project_files()))
    assert i.local and i.names == ("_free_port",) and i.target == "tools.e2e.controlplane"
    assert is_private("_free_port") and not is_private("__main__")
