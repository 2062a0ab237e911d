"""Imports run one way: no two modules of recon import each other, directly or around a loop.

Every ``import`` and ``from ... import`` of a recon module counts, at module level or inside a
function: a lazy import still ties the two modules together. The loops are the strongly
connected components of the import graph (Tarjan's algorithm).
"""

import ast

from conftest import REPO_ROOT


def _module_names() -> dict[str, object]:
    package = REPO_ROOT / "recon"
    names = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the recon modules it imports (``from a.b import c`` counts ``a.b.c`` when that is a module)."""
    modules = _module_names()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    targets.add(submodule if submodule in modules else node.module)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def import_loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, each sorted."""
    index, low, on_stack, stack, loops = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return loops


def test_the_loop_finder_finds_a_loop():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_loops(graph) == [["a", "b", "c"]]
    assert import_loops({"a": {"b"}, "b": set()}) == []


def test_no_recon_modules_import_each_other():
    graph = import_graph()
    assert len(graph) > 200 and "recon.experiments.build_pnp" in graph["recon.experiments.learned_registry"]
    assert import_loops(graph) == []
