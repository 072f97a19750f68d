"""The package's modules import each other without cycles, and its public names import from the top."""

import ast
from pathlib import Path

import ganlearn

PACKAGE = Path(ganlearn.__file__).parent


def module_name(path: Path) -> str:
    parts = ["ganlearn", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that `path` imports at run time (anywhere in the file, not for type checks)."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found, todo = set(), [ast.parse(path.read_text())]
    while todo:
        node = todo.pop()
        if is_type_checking_block(node):
            continue
        todo.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            base = base if node.level else node.module
            if node.module:  # `from . import x` runs x alone (its package has already run)
                found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # where `x` is a module
    return {name for name in found if name in modules}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first = last), or None."""
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_no_import_cycles_in_the_package():
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(f) for f in files}
    graph = {module_name(f): imported_modules(f, modules) - {module_name(f)} for f in files}
    assert "ganlearn.data.split" in graph["ganlearn.modes"]  # the parser sees `from .data import split`
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_public_api_from_the_top():
    from ganlearn import ConfigError, GANClassifier  # noqa: F401

    assert set(ganlearn.__all__) <= set(dir(ganlearn))
    assert issubclass(ConfigError, ValueError)
