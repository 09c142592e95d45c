"""The import graph follows the layers written down in docs/architecture.md.

Every ``import`` of a ``twin`` module counts, wherever it stands (module level, inside a
function, or under ``TYPE_CHECKING``): a dependency is a dependency. The check is an
``ast`` walk, so it needs nothing installed and sees lazy imports too.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Layers, lowest first. A package may import its own layer's base modules and any
#: lower layer, never a higher one; packages of one layer do not import each other
#: unless listed in ``SIDEWAYS``.
LAYERS: list[set[str]] = [
    {"twin", "twin._types", "twin._lazy", "twin.errors", "twin.durations", "twin.seeds",
     "twin.yamlconfig"},
    {"twin.network"},
    {"twin.report"},
    {"twin.crowds", "twin.trucks"},
    {"twin.scenario"},
    {"twin.cases", "twin.hydro"},
    {"twin.alerts"},
    {"twin.forecast"},
    {"twin.sim"},
    {"twin.coupling"},
    {"twin.run"},
    {"twin.placement", "twin.sweep", "twin.live"},
    {"dash_app"},
    {"twin.cli"},
]  # fmt: skip
#: Allowed imports between packages of the same layer (importer, imported).
SIDEWAYS: set[tuple[str, str]] = set()


def _unit(module: str) -> str:
    """The package (layer unit) a module belongs to."""
    parts = module.split(".")
    if parts[0] == "dash_app":
        return "dash_app"
    if len(parts) == 1:
        return "twin"
    unit = ".".join(parts[:2])
    return unit


def _modules() -> dict[str, Path]:
    out = {}
    for base in ("twin", "dash_app"):
        for path in (ROOT / base).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _imports(path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name.split(".")[0] not in ("twin", "dash_app"):
                continue
            # The longest known module that the name refers to.
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports."""
    mods = _modules()
    return {m: _imports(p, set(mods)) - {m} for m, p in mods.items()}


def _layer_of(unit: str) -> int:
    for i, layer in enumerate(LAYERS):
        if unit in layer:
            return i
    raise AssertionError(f"{unit} is in no layer: add it to LAYERS and docs/architecture.md")


def test_every_package_has_a_layer() -> None:
    for module in import_graph():
        _layer_of(_unit(module))


def test_no_package_imports_a_higher_layer() -> None:
    bad = []
    for module, deps in import_graph().items():
        src = _unit(module)
        for dep in deps:
            dst = _unit(dep)
            if src == dst or (dst == "twin" and dep == "twin"):
                continue
            ls, ld = _layer_of(src), _layer_of(dst)
            if ld > ls or (ld == ls and ls > 0 and (src, dst) not in SIDEWAYS):
                bad.append(f"{module} imports {dep}")
    assert not bad, "imports against the layers:\n" + "\n".join(sorted(bad))


def test_no_import_cycle_between_modules() -> None:
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:  # Tarjan, recursive (the graph is small)
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    # A package __init__ re-exporting its own modules is not a cycle of jobs.
    real = [c for c in cycles if len({_unit(m) for m in c}) > 1 or not _only_init(c)]
    assert not real, "import cycles:\n" + "\n".join(" ↔ ".join(c) for c in real)


def _only_init(cycle: list[str]) -> bool:
    mods = _modules()
    return any(mods[m].name == "__init__.py" for m in cycle)


@pytest.mark.parametrize("base", ["twin", "dash_app"])
def test_no_module_over_600_lines(base: str) -> None:
    long = [
        f"{p.relative_to(ROOT)}: {n}"
        for p in sorted((ROOT / base).rglob("*.py"))
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600
    ]
    assert not long, "modules over 600 lines (split them by job):\n" + "\n".join(long)


def test_lower_layers_never_reach_the_engine() -> None:
    graph = import_graph()
    lower = ("twin.hydro", "twin.trucks", "twin.crowds", "twin.network")
    upper = ("twin.sim", "twin.run", "twin.coupling")
    bad = defaultdict(list)
    for module, deps in graph.items():
        if module.startswith(lower):
            for dep in deps:
                if dep.startswith(upper):
                    bad[module].append(dep)
    assert not bad, dict(bad)
