"""The app in real headless Chromium: the interface in zh-CN, and crowds, storms and trucks
built in the builder and run.

Screenshots of the Chinese pages are kept in ``tests/app/artifacts/zh_cn_*.png`` (they
need a CJK font: Debian's ``fonts-noto-cjk``).
"""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.app.test_browser import (
    Shoot,
    by_id,
    choose,
    click,
    control,
    field_error,
    go,
    set_field,
    severe_logs,
    text_of,
    wait,
    wait_id,
    wait_text,
)

pytestmark = pytest.mark.browser

#: Chinese texts each page must show in zh-CN (page → texts).
ZH_TEXTS = {
    "builder": ("情景构建", "校验并运行", "运行情景", "添加人群活动", "调度策略", "渣土车"),
    "results": ("运行结果", "共用运行库", "所有浏览器标签页", "重命名", "删除运行"),
    "compare": ("方案对比", "重复运行的置信区间", "运行重复实验", "置信水平"),
    "forecasts": ("预报与预警", "预警时间线", "回放预报", "低洼点"),
    "placement": ("传感器布设", "生成暴雨集合", "历史暴雨场次", "预算 [水位计个数]"),
}


def _body(driver: Any) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def test_the_interface_in_zh_cn_on_every_page(
    served: dict[str, Any], browser: Any, shoot: Shoot
) -> None:
    browser.get(served["url"] + "/builder?lang=zh-CN")
    wait_text(browser, "builder-status", "情景有效", timeout=60)
    assert browser.execute_script("return document.documentElement.lang") == "zh-CN"
    nav = text_of(browser, "nav-builder") + text_of(browser, "nav-results")
    assert nav == "情景构建运行结果"
    for page, texts in ZH_TEXTS.items():
        go(browser, page)
        for text in texts:
            wait(browser, lambda d, text=text: text in _body(d))
        assert "Scenario builder" not in _body(browser)
        shoot(browser, f"zh_cn_{page}")
    # Numbers and units stay as they are: the builder's hints keep theirs.
    go(browser, "builder")
    assert "秒数，或如 45s、5min、2h" in _body(browser)
    assert not severe_logs(browser)


def test_the_language_is_remembered_and_switches_back(served: dict[str, Any], browser: Any) -> None:
    browser.get(served["url"] + "/results")
    wait(browser, lambda d: "共用运行库" in _body(d))  # remembered from the last page
    click(browser, wait_id(browser, "lang-en"))
    wait(browser, lambda d: "Shared run library" in _body(d))
    assert browser.execute_script("return document.documentElement.lang") == "en"
    assert "共用运行库" not in _body(browser)
    click(browser, wait_id(browser, "lang-zh-CN"))
    wait(browser, lambda d: "共用运行库" in _body(d))
    click(browser, wait_id(browser, "lang-en"))
    wait(browser, lambda d: "Scenario builder" in _body(d))


def test_the_builder_adds_a_crowd_event_a_catalogue_storm_and_trucks(
    served: dict[str, Any], browser: Any, shoot: Shoot
) -> None:
    page = browser
    page.get(served["url"] + "/builder?lang=en")
    wait_text(page, "builder-status", "Valid scenario", timeout=60)
    for path, value in {"horizon": "3h", "start": "2026-06-01T08:00:00"}.items():
        set_field(page, path, value)
    # A crowd event: a bad attendance is marked next to its field, then fixed.
    choose(page, "builder-crowd-plaza", "Wulin Square")
    set_crowd = {
        "builder-crowd-start": "2026-06-01T09:00",
        "builder-crowd-duration": "1h",
        "builder-crowd-attendance": "-5",
    }
    for element_id, value in set_crowd.items():
        _type(page, element_id, value)
    wait_text(page, "builder-crowd-attendance-error", "greater than 0")
    _type(page, "builder-crowd-attendance", "20000")
    wait(page, lambda d: text_of(d, "builder-crowd-attendance-error") == "")
    click(page, by_id(page, "builder-crowd-add"))
    wait_text(page, "builder-crowd-list", "plaza-wulin-square")
    # A storm from the catalogue.
    event = served["ctx"].storm_events()[0]
    choose(page, control(page, "rain.kind"), "event")
    set_field(page, "rain.event", event)
    set_field(page, "rain.start", "30min")
    # Muck trucks: on, 40 trucks, sites open in a window; a bad window is marked.
    click(page, control(page, "trucks.enabled").find_element(By.TAG_NAME, "input"))
    set_field(page, "trucks.fleet", "40")
    set_field(page, "trucks.trips_per_day", "300")
    set_field(page, "trucks.site_hours", "25:00-06:00")
    wait(page, lambda d: field_error(d, "trucks.site_hours") != "")
    set_field(page, "trucks.site_hours", "06:00-11:00")
    wait(page, lambda d: field_error(d, "trucks.site_hours") == "")
    wait_text(page, "builder-status", "Valid scenario")
    shoot(page, "builder-crowd-storm-trucks")
    before = len(served["ctx"].runner.finished_runs())
    click(page, by_id(page, "builder-run"))
    wait_text(page, "builder-job-text", "Finished", timeout=240)
    runs = served["ctx"].runner.finished_runs()
    assert len(runs) == before + 1
    job = runs[-1]
    sc = job.scenario
    assert sc.crowds.enabled and [e.plaza for e in sc.crowds.events] == ["plaza-wulin-square"]
    assert sc.crowds.events[0].attendance == 20000
    assert sc.rain.kind == "event" and sc.rain.event == event
    assert sc.trucks.enabled and sum(c.trucks for c in sc.trucks.companies) == 40
    assert sc.trucks.site_hours == "06:00-11:00"
    result = job.result
    assert result.crowds is not None
    assert result.kpi("truck_trips_started") > 0
    go(page, "results")
    body = wait_text(page, "results-body", "Crowds at the plazas", timeout=60)
    assert f"catalogue storm {event}" in body
    assert "plaza-wulin-square" in body and "20,000 people" in body
    assert "on: 40 trucks, sites open 06:00-11:00" in body
    assert "Rain and water at the low points" in body
    wait_id(page, "kpi-card-truck_trips")
    wait_id(page, "kpi-card-crowd_alerts")
    shoot(page, "results-crowd-storm-trucks")
    # The same run in zh-CN: headings, facts and KPI cards; names and numbers unchanged.
    click(page, wait_id(page, "lang-zh-CN"))
    zh = ("广场人群", "降雨与低洼点积水", "人群活动", "渣土车", "人群预警", "查获渣土车违规")
    for text in zh:
        wait(page, lambda d, text=text: text in text_of(d, "results-body"))
    body = text_of(page, "results-body")
    assert f"历史暴雨 {event}" in body and "启用：40 辆，工地作业时段 06:00-11:00" in body
    assert "plaza-wulin-square" in body  # names as they are
    shoot(page, "zh_cn_results_run")
    click(page, wait_id(page, "lang-en"))
    wait(page, lambda d: "Crowds at the plazas" in text_of(d, "results-body"))


def _type(driver: Any, element_id: str, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    element = wait_id(driver, element_id)
    click(driver, element)
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(Keys.DELETE)
    element.send_keys(text)
    element.send_keys(Keys.TAB)
