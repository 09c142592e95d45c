"""Pieces the pages are made of: a header, labelled fields, menus, graphs, menus of runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dash import dcc, html

from dash_app.context import AppContext
from dash_app.figures import empty_figure

__all__ = [
    "GRAPH_CONFIG",
    "added_values",
    "choice",
    "graph",
    "labelled",
    "page_header",
    "same_values",
    "scenario_menu",
]

#: The plotly configuration of the app's graphs (no plotly logo).
GRAPH_CONFIG: dcc.Graph.Config = {"displaylogo": False}


def page_header(title: str, lead: str) -> list[Any]:
    """A page's title and the paragraph that says what the page is for."""
    return [html.H1(title, className="page-title"), html.P(lead, className="lead")]


def labelled(
    label: str,
    control: Any,
    *below: Any,
    kind: str = "",
    min_width: str | None = None,
    title: str | None = None,
) -> html.Div:
    """A control with its label above it and, optionally, more below.

    Parameters
    ----------
    label
        The label (tied to the control's ``id``).
    control
        The Dash component.
    below
        Components under the control (a hint, say).
    kind
        More classes of the field: ``grow`` (takes the row's free width), ``panel``.
    min_width
        The field's least width (a CSS length).
    title
        A tooltip of the whole field.
    """
    attrs: dict[str, Any] = {"className": f"{kind} field".strip()}
    if min_width is not None:
        attrs["style"] = {"minWidth": min_width}
    if title is not None:
        attrs["title"] = title
    return html.Div([html.Label(label, htmlFor=control.id), control, *below], **attrs)


def choice(menu_id: str, choices: Iterable[tuple[Any, str]], value: Any) -> dcc.Dropdown:
    """A menu of fixed ``(value, label)`` choices, one of them always chosen."""
    return dcc.Dropdown(
        id=menu_id,
        clearable=False,
        value=value,
        options=[{"label": label, "value": v} for v, label in choices],
    )


def scenario_menu(menu_id: str, ctx: AppContext, preferred: str) -> dcc.Dropdown:
    """A menu of the scenario files offered, with ``preferred`` chosen if it is there."""
    return dcc.Dropdown(
        id=menu_id,
        options=ctx.scenario_names(),
        value=ctx.default_scenario(preferred),
        clearable=False,
    )


def graph(graph_id: str, message: str, height: int) -> dcc.Graph:
    """A graph that is blank, saying ``message``, until a callback draws it."""
    return dcc.Graph(id=graph_id, config=GRAPH_CONFIG, figure=empty_figure(message, height))


def same_values(old: list[dict[str, Any]] | None, options: list[dict[str, Any]]) -> bool:
    """Whether a menu's new options offer the same values and names, in order, as before.

    A renamed run changes the menu too.
    """

    def pairs(opts: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
        return [(o["value"], o.get("label")) for o in opts]

    return old is not None and pairs(old) == pairs(options)


def added_values(old: list[dict[str, Any]] | None, options: list[dict[str, Any]]) -> list[Any]:
    """The values of ``options`` that the old options of the menu did not offer."""
    known = {o["value"] for o in old or []}
    return [o["value"] for o in options if o["value"] not in known]
