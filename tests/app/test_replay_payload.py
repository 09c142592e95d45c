"""The replay sent to the browser: compact, and every record time rebuilt exactly from it.

:func:`rebuild` is the page's ``build`` (``dash_app/pages/map.py``, ``_REPLAY_JS``) in
Python: a frame rebuilt from the payload must equal :func:`frame_traces` at that time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dash_app.pages.map import STEP_MS, client_tick_ms
from dash_app.replay import DYNAMIC, RunFrames, frame_label, frame_traces
from dash_app.replay_compact import replay_payload
from twin.run.results import RunResult
from twin.run.runner import run_scenario
from twin.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
LAYERS = {"city", "crews", "cases", "water", "crowds", "trucks"}


@pytest.fixture(scope="module")
def wet() -> RunResult:
    scenario = load_scenario(SCENARIOS / "gongshu_rainstorm.yaml").with_updates(
        **{"horizon": "2h", "start": "2026-06-01T07:00:00", "rain.start": "15min"}
    )
    return run_scenario(scenario)


def _set(obj: dict[str, Any], path: str, value: Any) -> None:
    *head, last = path.split(".")
    for key in head:
        obj = obj.setdefault(key, {})
    obj[last] = value


def rebuild(trace: dict[str, Any], k: int) -> dict[str, Any]:
    """One dynamic trace at record ``k`` from the payload (as the page's ``build``)."""
    out: dict[str, Any] = {}
    for path, value in trace["static"].items():
        _set(out, path, value)
    ents = trace["idx"]["v"][trace["idx"]["f"][k]] if "idx" in trace else None
    if ents is not None:
        out["customdata"] = [f"{trace['ids']}{i}" for i in ents]
    for path, spec in trace["keys"].items():
        value = [spec["ent"][i] for i in ents] if "ent" in spec else spec["v"][spec["f"][k]]
        _set(out, path, value)
    return out


def test_every_frame_is_rebuilt_exactly_from_the_payload(wet: RunResult) -> None:
    net = wet.network
    frames = RunFrames.of(wet, net)
    payload = replay_payload(wet, frames, layers=LAYERS, net=net, n_base=7, token="t")
    assert payload is not None
    n = wet.dataset.sizes["time"]
    assert payload["n"] == n == len(payload["labels"]) and payload["n_base"] == 7
    assert len(payload["traces"]) == len(DYNAMIC)
    assert payload["labels"][3] == frame_label(frames, 3)
    for k in range(n):
        want = json.loads(json.dumps(frame_traces(wet, frames, k, layers=LAYERS, net=net)))
        got = [rebuild(t, k) for t in payload["traces"]]
        assert got == want, f"record {k}"


def test_the_payload_is_compact_and_its_colour_scales_fixed(wet: RunResult) -> None:
    net = wet.network
    frames = RunFrames.of(wet, net)
    payload = replay_payload(wet, frames, layers=LAYERS, net=net, n_base=0, token="t")
    assert payload is not None
    every = [frame_traces(wet, frames, k, layers=LAYERS, net=net) for k in range(payload["n"])]
    # much smaller than every frame in full
    assert len(json.dumps(payload)) < len(json.dumps(every)) / 2  # 12x on a full day
    water = payload["traces"][DYNAMIC.index("water depth")]
    # the colour scale and its bar never change between frames: sent once, never restyled
    for path in ("marker.colorscale", "marker.cmin", "marker.cmax", "marker.colorbar.y"):
        assert path in water["static"]
    assert "marker.color" in water["keys"]  # the depths do change
    cases = payload["traces"][DYNAMIC.index("cases waiting")]
    assert cases["ids"] == "case:" and "ent" in cases["keys"]["text"]  # per case, once


def test_a_run_too_large_to_send_gives_none(wet: RunResult) -> None:
    net = wet.network
    frames = RunFrames.of(wet, net)
    big = replay_payload(wet, frames, layers=LAYERS, net=net, n_base=0, token="t", max_bytes=10)
    assert big is None


def test_play_in_the_browser_draws_every_record_time() -> None:
    assert client_tick_ms(1.0) == STEP_MS and client_tick_ms(0.5) == 2 * STEP_MS
    assert client_tick_ms(8.0) == round(STEP_MS / 8) and 1000 / client_tick_ms(8.0) >= 10
