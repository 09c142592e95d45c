"""Importing the peer libraries a benchmark compares against (the ``bench`` extra).

The peers are not dependencies of the twin: ``pip install -e .[bench]`` installs them.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, package: str | None = None) -> ModuleType:
    """Import ``module`` or exit with the command that installs it.

    Parameters
    ----------
    module
        Importable name (``"igraph"``).
    package
        PyPI name when it differs (``"python-igraph"``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise SystemExit(
            f"this benchmark compares against {package or module}, which is not installed: "
            f"run `pip install -e .[bench]` (or `pip install {package or module}`)"
        ) from exc


def version(module: ModuleType) -> str:
    """The module's version string, or ``"?"``."""
    return str(getattr(module, "__version__", "?"))
