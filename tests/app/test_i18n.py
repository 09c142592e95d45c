"""The translations: every label of the pages in English has a zh-CN entry; fallbacks."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from dash.development.base_component import Component

from dash_app import create_app, i18n, schema
from dash_app.app import pages
from dash_app.crowd_events import crowd_panel
from dash_app.pages import builder, results
from twin.scenario import load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))
#: The pages whose labels must all be translated (the map page is another's).
OWNED = ("builder", "results", "compare", "forecasts", "placement")


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(preload_network=False)


def _find(component: Any, wanted: str) -> Any:
    """The component with id ``wanted`` in a layout."""
    if isinstance(component, list | tuple):
        for c in component:
            found = _find(c, wanted)
            if found is not None:
                return found
        return None
    if not isinstance(component, Component):
        return None
    if getattr(component, "id", None) == wanted:
        return component
    return _find(getattr(component, "children", None), wanted)


def test_t_translates_and_falls_back_to_english() -> None:
    assert i18n.t("Scenario builder", "zh-CN") == "情景构建"
    assert i18n.t("Scenario builder", "en") == "Scenario builder"
    assert i18n.t("  Run scenario ", "zh") == "  运行情景 "  # white space kept
    assert i18n.t("a label nobody translated", "zh-CN") == "a label nobody translated"
    assert i18n.t("3 problems to fix") == "3 个问题待修正"
    assert i18n.t("1 problem to fix") == "1 个问题待修正"
    # Parts joined by ' · ' are translated one by one; numbers and units stay.
    assert i18n.t("whole number · ≥ 1") == "整数 · ≥ 1"
    assert i18n.t("seconds, or e.g. 45s, 5min, 2h · > 0") == "秒数，或如 45s、5min、2h · > 0"
    # A label with a name: the label is translated, the name is not.
    assert i18n.t("Attendance (concert on Wulin Square)") == "参与人数（concert on Wulin Square）"
    assert i18n.t("run-3 (a name)") == "run-3 (a name)"


def test_normalise_lang() -> None:
    assert i18n.normalise_lang("zh-CN") == "zh-CN"
    assert i18n.normalise_lang("zh_cn") == "zh-CN"
    assert i18n.normalise_lang("zh") == "zh-CN"
    assert i18n.normalise_lang("en-GB") == "en"
    assert i18n.normalise_lang(None) == "en"


def test_every_label_of_the_pages_has_a_zh_cn_entry(app: Any) -> None:
    missing: dict[str, list[str]] = {}
    for module in pages():
        key = module.PATH.strip("/")
        if key not in OWNED:
            continue
        assert i18n.has_translation(module.TITLE), module.TITLE
        found = i18n.untranslated(i18n.layout_texts(_find(app.layout, f"page-{key}")))
        if found:
            missing[key] = found
    assert not missing, f"labels without a zh-CN translation: {missing}"


def test_the_shell_is_translated(app: Any) -> None:
    header = next(c for c in app.layout.children if c.__class__.__name__ == "Header")
    texts = [x for x in i18n.layout_texts(header) if x not in {"English", "中文"}]
    assert texts and not i18n.untranslated(texts)
    assert not i18n.untranslated(i18n.layout_texts(_find(app.layout, "page-not-found")))
    statuses = ("0 runs · shared by every tab", "2 jobs in progress · 1 run · shared by every tab")
    for status in statuses:
        assert i18n.has_translation(status), status


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_builder_field_label_group_hint_and_choice_is_translated(path: Path) -> None:
    scenario = load_scenario(path)
    specs = schema.builder_fields(scenario)
    texts = []
    for spec in specs:
        texts += [spec.label, spec.group]
        if spec.path != "rain.radar.event":  # event ids, shown as they are
            texts += spec.options
        if spec.hint:
            texts.append(spec.hint)
    missing = [x for x in i18n.untranslated(texts) if x not in scenario.model_dump_json()]
    assert not missing, f"{path.name}: builder texts without a zh-CN translation: {missing}"


def test_the_builder_and_results_messages_are_translated() -> None:
    messages = [
        builder.NOT_RUN,
        results.SHARED_NOTE,
        "Valid scenario",
        "Valid scenario · 3 field(s) changed",
        "2 problems to fix",
        "(marked next to the field)",
        "Not saved: fix the marked fields first.",
        "Not added: fix the marked fields first.",
        "Event added.",
        "Events added here (run with the scenario):",
        "Pick a plaza.",
        "Queued gongshu_baseline_day #3",
    ]
    assert not i18n.untranslated(messages)
    # The schema's messages next to a field.
    assert i18n.t("Input should be greater than 0 (got -3)") == "应大于 0（当前为 -3）"
    assert i18n.t("Input should be greater than or equal to 1 (the field is empty)") == (
        "应大于或等于 1（字段为空）"
    )
    assert not i18n.untranslated(i18n.layout_texts(crowd_panel()))


def test_the_kpi_card_texts_are_translated() -> None:
    texts = [
        "cases reported", "1,234 still open at the end", "cases closed", "95% of reported",
        "dispatch within 1min", "arrive within 5min", "resolve within 20min",
        "mean 1.2 min · p90 3.4 min", "crew utilisation", "busy (travel + work) / on duty",
        "mean backlog [cases]", "max 12", "escalations", "L1: 3 · L2: 0", "rain fallen",
        "deepest water 0.31 m", "low points closed", "3 impeded · 1.5 point-hours closed",
        "crews rerouted", "4 ponding cases", "crowd alerts", "2 crowd-control cases",
        "plaza-minutes over the alert density", "12 without staff", "muck trips unloaded",
        "of 2,300 started · 12 dumped", "truck violations detected",
        "of 40 · 30 traced · 25 cases",
    ]  # fmt: skip
    assert not i18n.untranslated(texts)


def test_the_script_holds_the_dictionary_and_cannot_end_its_tag() -> None:
    text = i18n.script()
    assert "情景构建" in text and "twinI18n" in text
    assert "</" not in text
    # Every pattern is a valid regular expression in both languages' syntax.
    for pattern, _ in i18n.PATTERNS:
        re.compile(pattern)
        assert "(?P" not in pattern and "(?<" not in pattern


#: Runs the page script without a browser: enough of ``document`` for it to load.
_NODE = """
global.window = global;
global.document = {title: "", documentElement: {}, body: {}};
global.MutationObserver = class { observe() {} };
global.NodeFilter = {SHOW_TEXT: 4, SHOW_ELEMENT: 1, FILTER_REJECT: 2, FILTER_ACCEPT: 1};
%s
window.twinI18n.set("zh-CN");
const texts = JSON.parse(require("fs").readFileSync(0, "utf-8"));
process.stdout.write(JSON.stringify(texts.map((s) => window.twinI18n.t(s))));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the page script")
def test_the_page_script_translates_as_t_does() -> None:
    texts = [
        *list(i18n.ZH_CN)[:40],
        "3 problems to fix",
        "  Run scenario ",
        "whole number · ≥ 1",
        "mean 0.81 min · p90 1.22 min",
        "83.7 % of reported",
        "Attendance (concert on Wulin Square)",
        "#1 gongshu_baseline_day · nearest_idle · 150 crews · seed 1",
        "Input should be greater than 0 (got -3)",
        "a label nobody translated",
    ]
    out = subprocess.run(
        ["node", "-e", _NODE % i18n.script()],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout) == [i18n.t(x, "zh-CN") for x in texts]
