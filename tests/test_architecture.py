"""The package's shape, checked from the source with `ast` (nothing is imported):

* no import cycle between its modules (imports under ``if TYPE_CHECKING:`` do not run and do not count;
  imports inside functions do: they are cycles that merely wait);
* no private name (``_x``) imported from another module (a helper another module needs is public
  in the module that owns it; importing a private *module*, such as ``commands._paths``, is fine);
* no module over `MAX_LINES` lines.

The allow-lists name today's offenders so the helpers who own them can fix them; they may only shrink
(a fixed offender still listed fails too), and the coordinator empties them at merge.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "picsellia_formats"
MAX_LINES = 600

#: Import cycles allowed for now (each as its sorted module names), with why.
ALLOWED_CYCLES: set[tuple[str, ...]] = set()
#: ``(importing module, imported module, name)`` allowed for now.
ALLOWED_PRIVATE: set[tuple[str, str, str]] = set()
#: Modules allowed over `MAX_LINES` for now.
ALLOWED_LONG: set[str] = set()


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in _imports_of(child))
            continue
        yield from _imports_of(node)


def _imports_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    else:
        yield from _imports(node)


def _base(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _edges(module: str) -> Iterator[tuple[str, str | None]]:
    """(imported module, name or None) for every import of `module` that targets the package."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in _imports(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    yield alias.name, None
            continue
        base = _base(module, node)
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in MODULES:
                yield sub, None
            elif base in MODULES:
                yield base, alias.name


def _graph() -> dict[str, set[str]]:
    return {m: {target for target, _ in _edges(m) if target != m} for m in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[tuple[str, ...]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(tuple(sorted(component)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def test_no_import_cycle() -> None:
    cycles = set(_cycles(_graph()))
    assert cycles - ALLOWED_CYCLES == set(), "new import cycles"
    assert ALLOWED_CYCLES - cycles == set(), "fixed: remove these from ALLOWED_CYCLES"


def test_no_private_name_imported_from_another_module() -> None:
    found = {(m, target, name) for m in MODULES for target, name in _edges(m)
             if name is not None and name.startswith("_") and not name.startswith("__") and target != m}
    assert found - ALLOWED_PRIVATE == set(), "make these public in the module that owns them"
    assert ALLOWED_PRIVATE - found == set(), "fixed: remove these from ALLOWED_PRIVATE"


def test_no_module_over_the_line_limit() -> None:
    long = {m for m, path in MODULES.items() if len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES}
    assert long - ALLOWED_LONG == set(), f"split these along their seams (over {MAX_LINES} lines)"
    assert ALLOWED_LONG - long == set(), "fixed: remove these from ALLOWED_LONG"


@pytest.mark.parametrize(("source", "expected"), [
    ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [("a", "b")]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}}, [("a", "b", "c")]),
])
def test_the_cycle_finder_itself(source: dict[str, set[str]], expected: list[tuple[str, ...]]) -> None:
    assert _cycles(source) == expected
