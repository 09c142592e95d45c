"""`twin --help` and the package `__init__`s import no model and no heavy library.

Each check runs in a fresh interpreter and looks at ``sys.modules``: it counts what got
imported, not how long it took, so it cannot be flaky.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Libraries that `twin --help` must not import (seconds each, some much more).
HEAVY = {"osmnx", "sklearn", "torch", "numba", "dash", "fastapi", "pandas", "xarray"}
#: Packages whose `__init__` re-exports lazily (twin._lazy).
LAZY_PACKAGES = [
    "twin.network",
    "twin.crowds",
    "twin.trucks",
    "twin.forecast",
    "twin.hydro",
    "twin.sweep",
    "twin.placement",
]


def loaded_after(code: str) -> set[str]:
    """Top-level names of the modules imported by ``code`` in a fresh interpreter."""
    report = "import json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    probe = f"{code}\n{report}"
    r = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert r.returncode == 0, r.stderr
    return set(json.loads(r.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["network", "info", "--help"],
        ["run", "--help"],
        ["rain", "show", "--help"],
        ["demo", "--help"],
    ],
)
def test_help_imports_nothing_heavy(args: list[str]) -> None:
    code = (
        "from typer.testing import CliRunner\nfrom twin.cli import app\n"
        f"r = CliRunner().invoke(app, {args!r})\n"
        "assert r.exit_code == 0, r.output\nassert 'twin' in r.output"
    )
    assert not loaded_after(code) & HEAVY


def test_import_twin_cli_is_light() -> None:
    assert not loaded_after("import twin.cli") & (HEAVY | {"numpy", "pydantic", "yaml"})


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_package_init_is_light(package: str) -> None:
    assert not loaded_after(f"import {package}") & (HEAVY | {"numpy", "scipy", "geopandas"})


@pytest.mark.parametrize("package", [p for p in LAZY_PACKAGES if p != "twin.hydro"])
def test_package_names_come_from_their_modules(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == dir(module)
    for name in module.__all__:  # each lazy name imports from the module it names
        getattr(module, name)


#: What `twin run` imports before it needs the network or writes a page: the scenario
#: run, the run folder writer and the network cache.
RUN_MODULES = ["twin.cli.run", "twin.run.runner", "twin.run.folder", "twin.network.build"]


@pytest.mark.parametrize("module", RUN_MODULES)
def test_run_modules_import_no_graph_or_plot_library(module: str) -> None:
    """networkx is imported where a graph is built or read, plotly where a page is drawn.

    A network read from the cache has no graph until ``G`` is read
    (tests/network/test_cache.py checks that it loads without networkx), and a run
    imports plotly only to write its HTML summary: about 0.1 s each.
    """
    assert not loaded_after(f"import {module}") & {"networkx", "osmnx", "plotly"}
