"""The planners' what-if app (Plotly Dash). Imports twin, never the reverse.

``create_app()`` builds the app (see :mod:`dash_app.app`); ``twin app`` serves it
(:func:`dash_app.cli.app_command`). Importing this package is cheap: Dash and the twin
are imported when the app is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["create_app"]

if TYPE_CHECKING:
    from dash_app.app import create_app


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from dash_app.app import create_app

        return create_app
    raise AttributeError(f"module 'dash_app' has no attribute {name!r}")
