"""The package's shape: no import cycles (module-level or inside functions), no module importing a module of a
higher layer (`LAYERS`), and no module over 450 lines."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "w2sg"
MAX_LINES = 450


# The layers of the package, bottom to top, written down once: a module may import modules of its own layer and
# of the layers below, never of a layer above (function-level imports included). A module belongs to the layer
# of the longest name listed that is it or a package above it (w2sg.tasks.keys is a leaf, the rest of
# w2sg.tasks is 'tasks'); every module must belong to one, so a new top-level module is placed here on purpose.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("leaves", ("w2sg.hashing", "w2sg.items", "w2sg.prompts", "w2sg.outputs", "w2sg.spec_checks", "w2sg.plugins",
                "w2sg.loggers", "w2sg.tasks.keys")),
    ("config", ("w2sg.config", "w2sg.config_io")),
    ("metrics", ("w2sg.metrics",)),
    ("tasks", ("w2sg.tasks",)),
    ("models", ("w2sg.models", "w2sg.cache")),
    ("records", ("w2sg.result", "w2sg.result_parts", "w2sg.store", "w2sg.migrate")),
    ("train", ("w2sg.train",)),
    ("theory", ("w2sg.theory",)),
    ("supervisors/methods", ("w2sg.supervisors", "w2sg.methods")),
    ("pipeline", ("w2sg.pipeline",)),
    ("bench", ("w2sg.bench",)),
    ("sweep", ("w2sg.sweep",)),
    ("report", ("w2sg.report",)),
    ("study", ("w2sg.study",)),
    ("cli", ("w2sg.cli",)),
    ("api", ("w2sg.api", "w2sg")),
]


def _module_name(path: Path, src: Path = SRC) -> str:
    rel = path.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules(src: Path = SRC) -> dict[str, Path]:
    return {_module_name(p, src): p for p in (src / "w2sg").rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """w2sg modules `path` imports anywhere (functions included), except under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip |= {id(n) for b in node.body for n in ast.walk(b)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("w2sg")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(head + ([base] if base else []))
            if not base.startswith("w2sg"):
                continue
            for a in node.names:  # `from pkg import submodule` imports the submodule
                sub = f"{base}.{a.name}"
                out.add(sub if sub in modules else base)
    return {m for m in out if m in modules and m != name}


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    modules = _modules(src)
    return {name: _imports(path, name, modules) for name, path in modules.items()}


def layer_of(module: str) -> int | None:
    """The index in LAYERS of `module`'s layer (its longest listed prefix; the package itself, `w2sg`, only as
    itself), or None if it is in none."""
    best, level = -1, None
    for i, (_, names) in enumerate(LAYERS):
        for n in names:
            if (module == n or (n != "w2sg" and module.startswith(n + "."))) and len(n) > best:
                best, level = len(n), i
    return level


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a module of a higher layer, as 'importer (layer) -> imported (layer)'."""
    out = []
    for name in sorted(graph):
        for dep in sorted(graph[name]):
            a, b = layer_of(name), layer_of(dep)
            if a is not None and b is not None and b > a:
                out.append(f"{name} ({LAYERS[a][0]}) -> {dep} ({LAYERS[b][0]})")
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (c := visit(n)):
                return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (c := visit(m)):
            return c
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_walk_sees_function_level_imports():
    graph = import_graph()
    assert "w2sg.pipeline" in graph["w2sg.cli.run"]  # imported inside a command function


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in import_graph() if layer_of(m) is None)
    assert not unplaced, f"modules in no layer (add them to LAYERS in tests/test_architecture.py): {unplaced}"


def test_no_module_imports_a_higher_layer():
    bad = upward_imports(import_graph())
    assert not bad, "imports of a higher layer:\n" + "\n".join(bad)


def test_the_layer_check_fails_on_a_planted_upward_import(tmp_path):
    """A copy of the package with config importing the pipeline inside a function: the check names it."""
    shutil.copytree(PKG, tmp_path / "w2sg")
    config = tmp_path / "w2sg" / "config.py"
    config.write_text(config.read_text() + "\n\ndef _planted():\n    from w2sg.pipeline import Pipeline\n\n"
                      "    return Pipeline\n")
    assert upward_imports(import_graph(tmp_path)) == ["w2sg.config (config) -> w2sg.pipeline (pipeline)"]
    assert upward_imports(import_graph(SRC)) == []  # the real package, for contrast
    assert layer_of("w2sg.tasks.keys") == 0 and layer_of("w2sg.tasks.splits") == 3
    assert layer_of("w2sg") == len(LAYERS) - 1
    assert layer_of("w2sg.new_module") is None  # a new top-level module must be placed in LAYERS


def private_imports(src: Path = SRC) -> set[tuple[str, str]]:
    """(importer, name) for every `from <w2sg module> import _name` (a name private to another module)."""
    out = set()
    for name, path in _modules(src).items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("w2sg")):
                out |= {(name, a.name) for a in node.names if a.name.startswith("_") and not a.name.startswith("__")}
    return out


def test_no_module_imports_a_private_name_of_another():
    left = private_imports()
    assert not left, f"private names imported across modules (make them public where they are shared): {left}"


def test_registered_modules_import_the_registry_not_the_package():
    """Method and supervisor modules are imported by their package's __init__ (discovered by name), so one
    that imported the package itself would be a cycle the walk above cannot see."""
    graph = import_graph()
    for pkg in ("w2sg.methods", "w2sg.supervisors"):
        for name, deps in graph.items():
            if name.startswith(pkg + "."):
                assert pkg not in deps, f"{name} imports {pkg}: import from {pkg}.registry / {pkg}.base instead"


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_module_size(path: Path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(SRC)} has {n} lines (> {MAX_LINES}): split it"
