"""The import graph of the project's own modules, read from their source, and the cycles in it.

Every `import` and `from ... import` anywhere in a module counts, including those inside functions (a
function-level import hides a cycle from Python until that function runs, not from this graph). Relative
imports are resolved against the importing module's package. `from a import b` is an edge to the module `a.b`
when there is one, else to `a` (b is a name defined there). Only edges between the scanned modules are kept:
third-party imports are not the project's structure.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path


def discover(package_dir: Path, package: str) -> dict[str, Path]:
    """Module name -> file for every .py file under `package_dir`, which is imported as `package`."""
    modules: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [package, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a `from ... import` statement reads from."""
    if not node.level:
        return node.module or ""
    # A package's __init__ is its own package; any other module's package is its parent.
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _parse(path: Path) -> ast.Module:
    """ast.parse, once more on CPython 3.11's "AST constructor recursion depth mismatch" SystemError, which a parse
    can raise while other threads run (python/cpython#106905; the Pulumi SDK leaves threads behind in this process)."""
    source = path.read_text()
    try:
        return ast.parse(source, filename=str(path))
    except SystemError:
        return ast.parse(source, filename=str(path))


def imports_of(module: str, path: Path, known: Iterable[str]) -> set[str]:
    """The known modules `module` (at `path`) imports anywhere in its source."""
    known = set(known)
    targets: set[str] = set()
    for node in ast.walk(_parse(path)):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, path, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in known:
                    targets.add(submodule)
                elif source in known:
                    targets.add(source)
    targets.discard(module)
    return targets


def import_graph(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module -> the scanned modules it imports."""
    return {module: imports_of(module, path, modules) for module, path in modules.items()}


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one, each written [a, b, ..., a]; sorted."""
    edges = {node: sorted(targets) for node, targets in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def connect(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, []):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(edges):
        if node not in index:
            connect(node)
    found = []
    for component in components:
        start = min(component)
        if len(component) > 1 or start in edges.get(start, []):
            found.append(_cycle_through(edges, start, component))
    return sorted(found)


def _cycle_through(edges: Mapping[str, list[str]], start: str, members: set[str]) -> list[str]:
    """The shortest path from `start` back to itself inside its strongly connected component."""
    came_from: dict[str, str] = {start: start}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in edges.get(node, []):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if target in members and target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"{start} is in a cycle but no path leads back to it")


def assert_no_cycles(graph: Mapping[str, Iterable[str]]) -> None:
    """AssertionError naming every cycle as `a -> b -> a`."""
    found = cycles(graph)
    assert not found, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in found)
