"""Replay of historical cases: the NYC 311 example, skipped rows, and every hard error."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from twin.cases.categories import CategoryTable, load_categories
from twin.cases.replay import (
    MAX_DISTANCE_M,
    ReplayResult,
    load_replay_config,
    replay_cases,
    resolve_path,
)
from twin.errors import ScenarioError
from twin.network import RoadNetwork
from twin.network.build import data_dir
from twin.scenario import CasesConfig, OperationsConfig, ReplayConfig

CASES = data_dir() / "cases"
NYC_CSV = CASES / "nyc_311_sample.csv"
NYC_MAPPING = CASES / "nyc_311_mapping.yaml"
START = datetime(2024, 5, 27, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DAY = 86400.0
KINDS = {
    "malformed row", "unparseable time", "unknown category", "missing coordinates",
    "invalid coordinates", "outside the network", "duplicate id", "before the start",
    "after the horizon",
}  # fmt: skip


@pytest.fixture(scope="module")
def table() -> CategoryTable:
    return load_categories()


@pytest.fixture(scope="module")
def nyc_config() -> ReplayConfig:
    return load_replay_config(NYC_MAPPING)


def _replay(
    net: RoadNetwork,
    table: CategoryTable,
    replay: ReplayConfig,
    *,
    seed: int = 0,
    horizon: float = DAY,
    cfg: CasesConfig | None = None,
) -> ReplayResult:
    return replay_cases(
        net, cfg or CasesConfig(), table, start=START, horizon=horizon,
        rng=np.random.default_rng(seed), operations=OperationsConfig(), replay=replay,
    )  # fmt: skip


@pytest.fixture(scope="module")
def nyc(gongshu: RoadNetwork, table: CategoryTable, nyc_config: ReplayConfig) -> ReplayResult:
    return _replay(gongshu, table, nyc_config)


@pytest.fixture(scope="module")
def nyc_frame() -> pd.DataFrame:
    df = pd.read_csv(NYC_CSV, dtype=str, keep_default_na=False)
    df.index = df.index + 2  # CSV line numbers (the header is line 1)
    return df


# ---------------------------------------------------------------------------- NYC example
def test_nyc_sample_is_the_real_file(nyc_frame: pd.DataFrame) -> None:
    assert len(nyc_frame) == 1000
    assert nyc_frame["unique_key"].is_unique
    shared = Path("/work/shared/data/events/nyc_311_sample.csv")
    if shared.exists():  # values copied verbatim from the shared original
        original = pd.read_csv(shared, dtype=str, keep_default_na=False)
        for col in nyc_frame.columns:
            assert (original[col].to_numpy() == nyc_frame[col].to_numpy()).all(), col


def test_nyc_mapping_loads(nyc_config: ReplayConfig, table: CategoryTable) -> None:
    assert resolve_path(nyc_config.path) == NYC_CSV
    assert nyc_config.relocate == "bbox"
    assert nyc_config.time_shift == "align_start"
    assert all(table.has_code(c) for c in nyc_config.category_map.values())


def test_nyc_rows_read_and_accepted(nyc: ReplayResult) -> None:
    r = nyc.report
    assert r.rows_read == 1000
    assert r.rows_accepted == len(nyc.stream)
    assert r.rows_accepted + r.rows_rejected == 1000
    assert r.rows_accepted > 800
    assert "1000 rows read" in r.summary()


def test_nyc_rejected_rows_have_lines_and_reasons(
    nyc: ReplayResult, nyc_frame: pd.DataFrame, nyc_config: ReplayConfig
) -> None:
    rejected = dict(nyc.report.rejected)
    assert len(rejected) == nyc.report.rows_rejected  # one entry per line
    assert set(rejected).isdisjoint(nyc.line.tolist())
    assert set(rejected) | set(nyc.line.tolist()) == set(range(2, 1002))
    assert set(nyc.report.reason_counts()) <= KINDS
    for line, reason in rejected.items():
        row = nyc_frame.loc[line]
        kind = reason.split(":", 1)[0]
        if kind == "unknown category":
            assert row["complaint_type"] not in nyc_config.category_map
            assert repr(row["complaint_type"]) in reason
        elif kind == "missing coordinates":
            assert row["latitude"] == "" or row["longitude"] == ""
        else:
            assert kind == "outside the network", reason
    # Every mappable row with coordinates that was skipped lies off the network.
    mapped = nyc_frame["complaint_type"].isin(list(nyc_config.category_map))
    with_xy = (nyc_frame["latitude"] != "") & (nyc_frame["longitude"] != "")
    skipped_good = [ln for ln in nyc_frame.index[mapped & with_xy] if ln in rejected]
    assert all(rejected[ln].startswith("outside the network") for ln in skipped_good)
    frame = nyc.report.to_frame()
    assert list(frame.columns) == ["line", "reason"]
    assert len(frame) == nyc.report.rows_rejected


def test_nyc_category_mix_preserved(
    nyc: ReplayResult, nyc_frame: pd.DataFrame, nyc_config: ReplayConfig, table: CategoryTable
) -> None:
    # Row by row: each case has the category its complaint type maps to.
    raw = nyc_frame.loc[nyc.line, "complaint_type"]
    expected = [table.index_of(nyc_config.category_map[v]) for v in raw]
    np.testing.assert_array_equal(nyc.stream.category, expected)
    # Overall: the mix of accepted cases is that of all mappable rows.
    mapped = nyc_frame["complaint_type"].map(nyc_config.category_map).dropna()
    before = mapped.value_counts(normalize=True)
    after = pd.Series(table.code[nyc.stream.category]).value_counts(normalize=True)
    for code in before.index[:3]:  # noise, parking, fireworks
        assert after[code] == pytest.approx(before[code], abs=0.03), code
    assert after.index[0] == "noise_nuisance"


def test_nyc_times_aligned_with_gaps_kept(nyc: ReplayResult, nyc_frame: pd.DataFrame) -> None:
    s = nyc.stream
    created = pd.to_datetime(nyc_frame.loc[nyc.line, "created_date"]).to_numpy()
    gaps = (created - created[0]) / np.timedelta64(1, "s")
    assert s.report_time[0] == 0.0
    np.testing.assert_allclose(s.report_time, gaps, atol=1e-3)
    assert 2.5 * 3600 < s.report_time[-1] < 3 * 3600  # about three hours of New York
    assert np.all(np.diff(s.report_time) >= 0)
    np.testing.assert_array_equal(s.occur_time, s.report_time)  # no detection delay


def test_nyc_locations_ids_and_sources(
    nyc: ReplayResult, nyc_frame: pd.DataFrame, gongshu: RoadNetwork
) -> None:
    s = nyc.stream
    assert np.all((s.node >= 0) & (s.node < gongshu.n_nodes))
    assert np.unique(s.node).size > 300  # spread over the district, not piled up
    np.testing.assert_array_equal(nyc.case_id, nyc_frame.loc[nyc.line, "unique_key"].to_numpy())
    names = [src.name for src in CasesConfig().sources]
    channel = nyc_frame.loc[nyc.line, "open_data_channel_type"].to_numpy()
    got = np.array(names)[s.source]
    assert set(got[channel != "UNKNOWN"]) == {"hotline_12345"}  # PHONE, ONLINE, MOBILE
    assert set(got[channel == "UNKNOWN"]) <= {"patrol"}  # the largest-share default
    assert any("'PHONE' → 'hotline_12345'" in n for n in nyc.report.notes)
    assert nyc.hotspot_nodes.size == 0
    for name in ("file_time", "work_time", "verify_time"):
        assert np.all(getattr(s, name) > 0)


def test_nyc_without_relocation_is_unusable(
    gongshu: RoadNetwork, table: CategoryTable, nyc_config: ReplayConfig
) -> None:
    cfg = nyc_config.model_copy(update={"relocate": "none"})
    with pytest.raises(ScenarioError, match=r"no usable row among 1000.*outside the network"):
        _replay(gongshu, table, cfg)


def test_nyc_sample_relocation(
    gongshu: RoadNetwork, table: CategoryTable, nyc_config: ReplayConfig
) -> None:
    mapping = {k: v for k, v in nyc_config.mapping.items() if k not in ("lon", "lat")}
    cfg = nyc_config.model_copy(update={"relocate": "sample", "mapping": mapping})
    r = _replay(gongshu, table, cfg)
    # Coordinates are not needed: rows without them are kept too.
    assert "missing coordinates" not in r.report.reason_counts()
    assert r.report.rows_accepted == 1000 - r.report.reason_counts()["unknown category"]
    assert r.hotspot_nodes.size == CasesConfig().hotspots.count
    assert np.isin(r.hotspot_nodes, np.arange(gongshu.n_nodes)).all()


def test_same_seed_same_replay(
    gongshu: RoadNetwork, table: CategoryTable, nyc_config: ReplayConfig
) -> None:
    a, b = _replay(gongshu, table, nyc_config, seed=3), _replay(gongshu, table, nyc_config, seed=3)
    c = _replay(gongshu, table, nyc_config, seed=4)
    for f in fields(a.stream):
        np.testing.assert_array_equal(getattr(a.stream, f.name), getattr(b.stream, f.name))
    assert not np.array_equal(a.stream.work_time, c.stream.work_time)
    np.testing.assert_array_equal(a.stream.node, c.stream.node)  # locations come from data


def test_short_horizon_skips_late_rows(
    gongshu: RoadNetwork, table: CategoryTable, nyc_config: ReplayConfig
) -> None:
    r = _replay(gongshu, table, nyc_config, horizon=3600.0)
    assert r.stream.report_time.max() < 3600.0
    assert r.report.reason_counts()["after the horizon"] > 100


# ---------------------------------------------------------------------------- small files
def _write(tmp_path: Path, rows: list[list[str]], name: str = "cases.csv") -> Path:
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return path


MAPPING = {"time": "when", "category": "type", "lon": "x", "lat": "y", "id": "no"}


@pytest.fixture
def mixed_csv(tmp_path: Path, gongshu: RoadNetwork) -> tuple[Path, list[tuple[float, float]]]:
    """Four good rows and one bad row of each kind (lines 2-14)."""
    pts = [(float(gongshu.node_lon[i]), float(gongshu.node_lat[i])) for i in (10, 500, 4000)]
    (x0, y0), (x1, y1), (x2, y2) = pts
    rows = [
        ["no", "when", "type", "x", "y", "note"],
        ["a1", "2024-05-27 08:00:00", "Pothole", f"{x0}", f"{y0}", "good (line 2)"],
        ["a2", "not a time", "Pothole", f"{x0}", f"{y0}", "bad time"],
        ["a3", "2024-05-27 08:10:00", "Alien landing", f"{x0}", f"{y0}", "bad category"],
        ["a4", "2024-05-27 08:20:00", "Pothole", "", "", "no coordinates"],
        ["a5", "2024-05-27 08:30:00", "Pothole", f"{x0 + 0.1}", f"{y0}", "10 km away"],
        ["a1", "2024-05-27 08:40:00", "Pothole", f"{x0}", f"{y0}", "duplicate id"],
        ["a7", "2024-05-27 08:50:00", "Pothole", f"{x0}"],  # malformed
        ["a8", "2024-05-27T00:30:00Z", "gas_leak", f"{x1}", f"{y1}", "good, code, UTC"],
        ["a9", "2024-05-27 06:00:00", "Pothole", f"{x1}", f"{y1}", "before the start"],
        ["a10", "2024-05-29 08:00:00", "Pothole", f"{x1}", f"{y1}", "after the horizon"],
        ["a11", "2024-05-27 09:00:00+08:00", "Pothole", f"{x2}", f"{y2}", "good, offset"],
        ["a12", "", "Pothole", f"{x2}", f"{y2}", "empty time"],
        ["", "2024-05-27 07:00:00", "Pothole", f"{x2}", f"{y2}", "good, no id, at start"],
    ]
    return _write(tmp_path, rows), pts


def test_bad_rows_skipped_good_rows_kept(
    gongshu: RoadNetwork, table: CategoryTable, mixed_csv: tuple[Path, list[tuple[float, float]]]
) -> None:
    path, _ = mixed_csv
    cfg = ReplayConfig(
        path=str(path), mapping=MAPPING, category_map={"Pothole": "road_pothole"},
        relocate="none", time_shift="none",
    )  # fmt: skip
    r = _replay(gongshu, table, cfg)
    assert r.report.rows_read == 14 - 1
    assert r.report.rows_accepted == 4
    assert r.line.tolist() == [14, 2, 9, 12]  # sorted by time
    assert r.case_id.tolist() == ["", "a1", "a8", "a11"]
    np.testing.assert_allclose(r.stream.report_time, [0.0, 3600.0, 5400.0, 7200.0])
    assert r.stream.node.tolist() == [4000, 10, 500, 4000]
    assert table.code[r.stream.category].tolist() == [
        "road_pothole", "road_pothole", "gas_leak", "road_pothole",
    ]  # fmt: skip
    reasons = dict(r.report.rejected)
    assert reasons[3] == "unparseable time: 'not a time'"
    assert reasons[4].startswith("unknown category: 'Alien landing'")
    assert reasons[5].startswith("missing coordinates")
    assert reasons[6].startswith("outside the network: ")
    assert float(reasons[6].split(": ")[1].split(" m")[0]) > MAX_DISTANCE_M
    assert reasons[7] == "duplicate id: 'a1' (first on line 2)"
    assert reasons[8] == "malformed row: 4 values for 6 columns"
    assert reasons[10].startswith("before the start: 3600 s")
    assert reasons[11].startswith("after the horizon")
    assert reasons[13] == "unparseable time: empty"
    assert set(reasons) == {3, 4, 5, 6, 7, 8, 10, 11, 13}


def test_align_start(
    gongshu: RoadNetwork, table: CategoryTable, mixed_csv: tuple[Path, list[tuple[float, float]]]
) -> None:
    path, _ = mixed_csv
    cfg = ReplayConfig(
        path=str(path), mapping=MAPPING, category_map={"Pothole": "road_pothole"},
        relocate="none", time_shift="align_start",
    )  # fmt: skip
    r = _replay(gongshu, table, cfg)
    # The earliest usable row (06:00, line 10) is now at the start; the gaps are kept.
    assert r.line[0] == 10
    assert r.stream.report_time[0] == 0.0
    assert dict(zip(r.line.tolist(), r.stream.report_time.tolist(), strict=True))[2] == 7200.0


def test_bbox_relocation(gongshu: RoadNetwork, table: CategoryTable, tmp_path: Path) -> None:
    # A 5 x 5 grid over another city's box (10-10.5 E, 50-50.5 N) maps onto the network's box.
    f = np.linspace(0.0, 1.0, 5)
    fx, fy = (a.ravel() for a in np.meshgrid(f, f))
    rows = [["when", "type", "x", "y"]]
    rows += [
        ["2024-05-27 08:00:00", "road_pothole", f"{10 + 0.5 * a}", f"{50 + 0.5 * b}"]
        for a, b in zip(fx, fy, strict=True)
    ]
    path = _write(tmp_path, rows)
    mapping = {k: v for k, v in MAPPING.items() if k != "id"}
    cfg = ReplayConfig(path=str(path), mapping=mapping, relocate="bbox", time_shift="none")
    r = _replay(gongshu, table, cfg)
    lon, lat = gongshu.node_lon, gongshu.node_lat
    want_lon = lon.min() + fx * (lon.max() - lon.min())
    want_lat = lat.min() + fy * (lat.max() - lat.min())
    snap = gongshu.nearest_nodes(want_lon, want_lat, max_distance=np.inf)
    on = snap.distance <= MAX_DISTANCE_M
    assert on.sum() >= 10  # the centre and much of the box hold roads
    assert r.line.tolist() == (np.flatnonzero(on) + 2).tolist()
    np.testing.assert_array_equal(r.stream.node, snap.node[on])
    off = {ln for ln, why in r.report.rejected if why.startswith("outside the network")}
    assert off == set((np.flatnonzero(~on) + 2).tolist())


def test_missing_mapped_column_lists_available(
    gongshu: RoadNetwork, table: CategoryTable, mixed_csv: tuple[Path, list[tuple[float, float]]]
) -> None:
    path, _ = mixed_csv
    cfg = ReplayConfig(path=str(path), mapping={**MAPPING, "time": "created"}, relocate="none")
    with pytest.raises(ScenarioError) as exc:
        _replay(gongshu, table, cfg)
    msg = str(exc.value)
    assert "'created' (mapped as time) not in the CSV header" in msg
    assert "available columns: no, when, type, x, y, note" in msg


def test_nyc_missing_column(
    gongshu: RoadNetwork, table: CategoryTable, nyc_config: ReplayConfig
) -> None:
    cfg = nyc_config.model_copy(update={"mapping": {**nyc_config.mapping, "lat": "lat"}})
    with pytest.raises(ScenarioError, match=r"'lat' \(mapped as lat\).*created_date.*latitude"):
        _replay(gongshu, table, cfg)


@pytest.mark.parametrize(
    ("update", "match"),
    [
        ({"mapping": {"time": "when", "category": "type"}}, "missing key\\(s\\) 'lon', 'lat'"),
        ({"mapping": {**MAPPING, "kind": "type"}}, "unknown key\\(s\\) 'kind'"),
        ({"category_map": {"Pothole": "pothole"}}, "'Pothole' → 'pothole'.*known codes"),
        ({"path": "no/such/file.csv"}, "no such case file"),
    ],
)
def test_config_errors(
    gongshu: RoadNetwork,
    table: CategoryTable,
    mixed_csv: tuple[Path, list[tuple[float, float]]],
    update: dict[str, object],
    match: str,
) -> None:
    path, _ = mixed_csv
    base = ReplayConfig(path=str(path), mapping=MAPPING, relocate="none")
    with pytest.raises(ScenarioError, match=match):
        _replay(gongshu, table, base.model_copy(update=update))


def test_no_usable_row(gongshu: RoadNetwork, table: CategoryTable, tmp_path: Path) -> None:
    path = _write(tmp_path, [["when", "type", "x", "y"], ["x", "y", "", ""]])
    cfg = ReplayConfig(path=str(path), mapping=MAPPING | {"id": ""}, relocate="none")
    with pytest.raises(ScenarioError, match=r"no usable row among 1.*line 2: unparseable time"):
        _replay(gongshu, table, cfg)
    header_only = _write(tmp_path, [["when", "type", "x", "y"]], "empty.csv")
    with pytest.raises(ScenarioError, match="no usable row among 0 \\(no data rows\\)"):
        _replay(gongshu, table, cfg.model_copy(update={"path": str(header_only)}))


def test_no_replay_config(gongshu: RoadNetwork, table: CategoryTable) -> None:
    with pytest.raises(ScenarioError, match=r"cases\.replay is not set"):
        replay_cases(
            gongshu, CasesConfig(), table, start=START, horizon=DAY,
            rng=np.random.default_rng(0), operations=OperationsConfig(),
        )  # fmt: skip


def test_no_source_column_uses_default(
    gongshu: RoadNetwork, table: CategoryTable, mixed_csv: tuple[Path, list[tuple[float, float]]]
) -> None:
    path, _ = mixed_csv
    cfg = ReplayConfig(
        path=str(path), mapping=MAPPING, category_map={"Pothole": "road_pothole"},
        relocate="none",
    )  # fmt: skip
    r = _replay(gongshu, table, cfg)
    assert set(r.stream.source.tolist()) == {0}  # patrol, the largest share
    assert "no source column" in r.report.notes[0]


def test_resolve_path_and_config_file(tmp_path: Path) -> None:
    assert resolve_path("data/cases/nyc_311_sample.csv") == NYC_CSV
    assert resolve_path("cases/nyc_311_sample.csv") == NYC_CSV
    (tmp_path / "mine.csv").write_text("a\n", encoding="utf-8")
    assert resolve_path("mine.csv", base_dir=tmp_path) == tmp_path / "mine.csv"
    bad = tmp_path / "bad.yaml"
    bad.write_text("path: x.csv\nrelocate: teleport\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="relocate"):
        load_replay_config(bad)
    with pytest.raises(ScenarioError, match="no such replay mapping file"):
        load_replay_config(tmp_path / "missing.yaml")


def test_reason_counts_order(nyc: ReplayResult) -> None:
    counts = nyc.report.reason_counts()
    assert list(counts.values()) == sorted(counts.values(), reverse=True)
    assert sum(counts.values()) == nyc.report.rows_rejected
    assert Counter(r.split(":")[0] for _, r in nyc.report.rejected) == Counter(counts)


def test_quoted_multiline_field_and_trailing_cells(
    gongshu: RoadNetwork, table: CategoryTable, tmp_path: Path
) -> None:
    x, y = float(gongshu.node_lon[7]), float(gongshu.node_lat[7])
    text = (
        "when,type,x,y,note\n"
        f'2024-05-27 08:00,road_pothole,{x},{y},"two\nlines"\n'  # lines 2-3
        f"2024-05-27 08:05,nope,{x},{y},x\n"  # line 4: unknown category
        "\n"  # line 5: blank, not a row
        f"2024-05-27 08:10,road_pothole,{x},{y},x,,\n"  # line 6: trailing empty cells
    )
    path = tmp_path / "multi.csv"
    path.write_text(text, encoding="utf-8")
    mapping = {"time": "when", "category": "type", "lon": "x", "lat": "y"}
    cfg = ReplayConfig(path=str(path), mapping=mapping, relocate="none", time_shift="none")
    r = _replay(gongshu, table, cfg)
    assert r.report.rows_read == 3
    assert r.line.tolist() == [2, 6]
    assert [ln for ln, _ in r.report.rejected] == [4]
    assert r.stream.node.tolist() == [7, 7]
