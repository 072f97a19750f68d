"""The package's modules import each other without cycles, no group imports a group above it, and
its public names import from the top."""

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


ARCHITECTURE = Path(__file__).parents[1] / "docs" / "architecture.md"


def documented_layers() -> list[list[str]]:
    """The groups from top to bottom, as docs/architecture.md draws them (the block under "The groups,
    top to bottom"): a module imports only modules of its own group or of groups below it (peers on
    one line do not import each other)."""
    block = ARCHITECTURE.read_text().split("## The groups, top to bottom", 1)[1].split("```")[1]
    return [line.split() for line in block.strip().splitlines()]


LAYERS = documented_layers()
LEVEL = {group: level for level, groups in enumerate(LAYERS) for group in groups}


def import_graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(f) for f in files}
    return {module_name(f): imported_modules(f, modules) - {module_name(f)} for f in files}


def group(module: str) -> str:
    """The group of a module: its sub-package (ganlearn.train.loop -> train) or its own name."""
    return module.split(".")[1]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """'a -> b' for each import of a module b whose group is not below a's (the package's __init__,
    which gathers the public names, is exempt)."""
    return [
        f"{a} -> {b}"
        for a, imported in sorted(graph.items())
        if a != "ganlearn"
        for b in sorted(imported)
        if b != "ganlearn" and group(a) != group(b) and LEVEL[group(b)] <= LEVEL[group(a)]
    ]


def test_no_import_cycles_in_the_package():
    graph = import_graph()
    assert "ganlearn.data.split" in graph["ganlearn.modes"]  # the parser sees `from .data import split`
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_every_group_has_a_place_in_the_layers():
    groups = {group(m) for m in import_graph() if m != "ganlearn"}
    assert groups == set(LEVEL), f"not in LAYERS: {groups - set(LEVEL)}; gone: {set(LEVEL) - groups}"


def test_no_group_imports_a_group_above_it_or_beside_it():
    assert upward_imports(import_graph()) == []


def test_upward_imports_are_found():
    graph = {"ganlearn.losses": {"ganlearn.train.loop"}, "ganlearn.train.loop": {"ganlearn.deploy.export"}}
    graph |= {"ganlearn.cli": {"ganlearn.errors", "ganlearn.cli"}}
    assert upward_imports(graph) == [
        "ganlearn.losses -> ganlearn.train.loop",
        "ganlearn.train.loop -> ganlearn.deploy.export",
    ]


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_public_api_from_the_top():
    from ganlearn import ConfigError, GANClassifier  # noqa: F401

    assert set(ganlearn.__all__) <= set(dir(ganlearn))
    assert issubclass(ConfigError, ValueError)


def test_the_version_is_written_once():
    from importlib.metadata import version

    from ganlearn.version import __version__

    assert ganlearn.__version__ == __version__ == version("ganlearn")
    sources = [p for p in PACKAGE.rglob("*.py") if '__version__ = "' in p.read_text()]
    assert sources == [PACKAGE / "version.py"]


def test_the_top_level_holds_at_most_16_modules():
    assert len(list(PACKAGE.glob("*.py"))) <= 16
