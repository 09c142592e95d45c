"""Pieces the pages are made of (dash_app.components)."""

from __future__ import annotations

from pathlib import Path

from dash import dcc, html

from dash_app.components import (
    added_values,
    choice,
    labelled,
    page_header,
    same_values,
    scenario_menu,
)
from dash_app.context import AppContext
from dash_app.jobs import JobRunner


def test_a_labelled_field_ties_its_label_to_the_control() -> None:
    box = labelled("Run", dcc.Dropdown(id="x-run"), html.Div("hint"), kind="grow")
    label, control, hint = box.children
    assert label.htmlFor == "x-run" and control.id == "x-run" and hint.children == "hint"
    assert box.className == "grow field"
    assert "style" not in box.to_plotly_json()["props"]  # no empty props in the page
    styled = labelled("Model", dcc.Dropdown(id="m"), min_width="8rem", title="help")
    assert styled.className == "field" and styled.style == {"minWidth": "8rem"}
    assert styled.title == "help"


def test_page_header_and_fixed_choices() -> None:
    title, lead = page_header("Map", "What it shows.")
    assert (title.children, title.className, lead.className) == ("Map", "page-title", "lead")
    menu = choice("m", [(0.9, "90%"), (0.95, "95%")], 0.95)
    assert menu.options == [{"label": "90%", "value": 0.9}, {"label": "95%", "value": 0.95}]
    assert menu.value == 0.95 and menu.clearable is False


def test_menus_of_runs_see_new_runs() -> None:
    old = [{"label": "#1", "value": "run-1"}]
    new = [{"label": "#2", "value": "run-2"}, *old]
    assert same_values(old, list(old)) and not same_values(old, new)
    assert not same_values(None, [])
    assert not same_values(old, [{"label": "#1 renamed", "value": "run-1"}])
    assert added_values(old, new) == ["run-2"] and added_values(None, old) == ["run-1"]


def test_the_scenario_menu_prefers_its_default(tmp_path: Path) -> None:
    for name in ("b.yaml", "a.yaml"):
        (tmp_path / name).write_text("name: x\n", encoding="utf-8")
    runner = JobRunner(run=lambda *a, **k: None)
    try:
        ctx = AppContext(scenarios_dir=tmp_path, save_dir=tmp_path, runner=runner)
        assert scenario_menu("f", ctx, "b.yaml").value == "b.yaml"
        menu = scenario_menu("f", ctx, "missing.yaml")
        assert menu.options == ["a.yaml", "b.yaml"] and menu.value == "a.yaml"
        none = tmp_path / "none"
        empty = AppContext(scenarios_dir=none, save_dir=none, runner=runner)
        assert empty.default_scenario("a.yaml") is None
    finally:
        runner.shutdown()
