"""Replay CSV rows that cannot be used: a warning naming lines and reasons, or --strict."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.cases.categories import load_categories
from twin.cases.replay import ReplayResult, replay_cases
from twin.errors import ScenarioError
from twin.network import RoadNetwork
from twin.scenario import CasesConfig, OperationsConfig, ReplayConfig

START = datetime(2026, 6, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def write_csv(net: RoadNetwork, path: Path) -> Path:
    lon, lat = float(net.node_lon[0]), float(net.node_lat[0])
    rows = [
        "time,category,lon,lat",
        f"2026-06-01T08:00:00,noise_nuisance,{lon},{lat}",  # line 2: good
        f"2026-06-01T08:05:00,teleporting,{lon},{lat}",  # line 3: unknown category
        f"not a time,noise_nuisance,{lon},{lat}",  # line 4: unparseable time
        "2026-06-01T08:06:00,noise_nuisance,,",  # line 5: missing coordinates
        f"2026-06-01T08:07:00,noise_nuisance,{lon}",  # line 6: malformed
        f"2026-06-01T08:08:00,noise_nuisance,{lon},{lat}",  # line 7: good
        f"2026-06-01T20:00:00,noise_nuisance,{lon},{lat}",  # line 8: after the horizon
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def replay(net: RoadNetwork, csv: Path, *, strict: bool) -> ReplayResult:
    cfg = ReplayConfig(
        path=str(csv), mapping={"time": "time", "category": "category", "lon": "lon",
                                "lat": "lat"},
        time_shift="none", strict=strict,
    )  # fmt: skip
    return replay_cases(
        net, CasesConfig(), load_categories(), start=START, horizon=3600.0,
        rng=np.random.default_rng(0), operations=OperationsConfig(), replay=cfg,
    )  # fmt: skip


def test_bad_rows_are_a_warning_with_lines(
    gongshu: RoadNetwork, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    csv = write_csv(gongshu, tmp_path / "cases.csv")
    with caplog.at_level(logging.WARNING, logger="twin.cases.replay"):
        result = replay(gongshu, csv, strict=False)
    assert result.report.rows_accepted == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    msg = warnings[0]
    assert "skipped 4 of 7 rows (57%" in msg
    for line in ("line 3: unknown category", "line 4: unparseable time",
                 "line 5: missing coordinates", "line 6: malformed row"):  # fmt: skip
        assert line in msg, msg
    assert "line 8" not in msg  # outside the run's window: not a bad row
    assert "--strict" in msg


def test_strict_makes_any_bad_row_an_error(gongshu: RoadNetwork, tmp_path: Path) -> None:
    csv = write_csv(gongshu, tmp_path / "cases.csv")
    with pytest.raises(ScenarioError, match=r"cases\.csv: 4 of 7 rows \(57%\) cannot be used "
                       r"\(strict replay\): line 3: unknown category"):  # fmt: skip
        replay(gongshu, csv, strict=True)


def test_strict_accepts_a_clean_file(gongshu: RoadNetwork, tmp_path: Path) -> None:
    lon, lat = float(gongshu.node_lon[0]), float(gongshu.node_lat[0])
    csv = tmp_path / "clean.csv"
    csv.write_text(
        f"time,category,lon,lat\n2026-06-01T08:00:00,noise_nuisance,{lon},{lat}\n"
        f"2026-06-01T21:00:00,noise_nuisance,{lon},{lat}\n"  # after the horizon: not bad
    )
    assert replay(gongshu, csv, strict=True).report.rows_accepted == 1


@pytest.mark.parametrize(
    ("data", "words"),
    [(b"time,category\n\x81\xff\xfe\x00garbage\n", "cases.csv:2: not a text file"),
     (b"time,category\n2026-06-01T08:00:00,noise\x00\n", "cases.csv:2: not a text file (a NUL")],
)  # fmt: skip
def test_binary_csv_names_the_line(
    gongshu: RoadNetwork, tmp_path: Path, data: bytes, words: str
) -> None:
    csv = tmp_path / "cases.csv"
    csv.write_bytes(data)
    with pytest.raises(ScenarioError) as info:
        replay(gongshu, csv, strict=False)
    assert words in str(info.value)
