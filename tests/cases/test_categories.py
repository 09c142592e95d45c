"""Case categories: the bundled table, the profiles, and every validation error."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from twin.cases.categories import (
    COLUMNS,
    KINDS,
    PROFILES,
    CategoryTable,
    default_categories_path,
    load_categories,
    profile_weights,
)
from twin.errors import ScenarioError
from twin.scenario import CrewsConfig

DEFAULT = default_categories_path()


@pytest.fixture(scope="module")
def table() -> CategoryTable:
    return load_categories()


def _lines() -> list[str]:
    return DEFAULT.read_text(encoding="utf-8").splitlines()


def _header_line() -> int:
    """1-based line number of the header of the bundled file (after its comments)."""
    return next(i for i, ln in enumerate(_lines(), 1) if ln.startswith("code,"))


def _write(tmp_path: Path, lines: list[str], name: str = "cats.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _edit_cell(tmp_path: Path, code: str, column: str, value: str) -> tuple[Path, int]:
    """Copy of the bundled table with one cell changed; returns the path and the line."""
    lines = _lines()
    header = lines[_header_line() - 1].split(",")
    for i, ln in enumerate(lines):
        cells = ln.split(",")
        if cells[0] == code:
            cells[header.index(column)] = value
            lines[i] = ",".join(cells)
            return _write(tmp_path, lines), i + 1
    raise AssertionError(code)


# ---------------------------------------------------------------------------- default table
def test_default_table_loads(table: CategoryTable) -> None:
    assert 18 <= len(table) <= 25
    assert table.source == str(DEFAULT)
    np.testing.assert_allclose(table.share.sum(), 1.0, atol=1e-9)
    # Every category is in the random stream except those raised by events only.
    raised_only = table.code == "crowd_control"
    assert np.all(table.share[~raised_only] > 0)
    assert np.all(table.share[raised_only] == 0)
    assert set(table.kind) == set(KINDS)
    assert len(set(table.code)) == len(table)


def test_default_skills_are_default_crew_skills(table: CategoryTable) -> None:
    assert set(table.skill) == set(CrewsConfig().skills)


def test_default_times_are_plausible(table: CategoryTable) -> None:
    # On-site work mostly 5-30 min (the pilot targets resolution within 20 min);
    # deadlines between 30 min and 1 day. Stored in seconds.
    routine = table.share > 0  # crowd control (raised by alerts) stays through an egress
    work = table.work_mean[routine]
    assert np.all((work >= 5 * 60) & (work <= 30 * 60))
    assert np.all((table.deadline >= 30 * 60) & (table.deadline <= 86400))
    assert set(np.unique(table.priority)) == {1, 2, 3}
    assert np.all(table.work_cv >= 0)


def test_cjt214_families_are_covered(table: CategoryTable) -> None:
    components = set(table.major_class[table.kind == "component"])
    events = set(table.major_class[table.kind == "event"])
    assert components == {
        "public_utilities", "road_traffic", "city_appearance", "greenery", "housing_land",
    }  # fmt: skip
    assert events == {
        "city_appearance", "advertising", "construction_management", "emergency", "street_order",
    }  # fmt: skip


def test_hourly_weights_follow_profiles(table: CategoryTable) -> None:
    assert table.hourly_weight.shape == (len(table), 24)
    np.testing.assert_allclose(table.hourly_weight.mean(axis=1), 1.0)
    for i, name in enumerate(table.profile):
        np.testing.assert_array_equal(table.hourly_weight[i], PROFILES[str(name)])
    np.testing.assert_allclose(table.daily_profile().mean(), 1.0)


def test_profiles_have_their_shape() -> None:
    for w in PROFILES.values():
        assert w.shape == (24,)
        np.testing.assert_allclose(w.mean(), 1.0)
    night, day = profile_weights("night"), profile_weights("day")
    night_hours = [21, 22, 23, 0, 1, 2, 3, 4, 5]
    assert night[night_hours].sum() / 24 > 0.7
    assert day[8:18].sum() / 24 > 0.6
    commute = profile_weights("commute")
    assert commute[[7, 8, 17, 18]].min() > 1.5 * commute[[0, 3, 12, 22]].max()
    with pytest.raises(ScenarioError, match="unknown profile 'noon'"):
        profile_weights("noon")


def test_codes_and_index_of(table: CategoryTable) -> None:
    codes = table.codes()
    assert codes[0] == str(table.code[0])
    for i, c in enumerate(codes):
        assert table.index_of(c) == i
        assert table.has_code(c)
    np.testing.assert_array_equal(table.indices_of(codes[::-1]), np.arange(len(codes))[::-1])
    with pytest.raises(ScenarioError, match=r"unknown case category 'nope'.*manhole_cover"):
        table.index_of("nope")


def test_table_arrays_are_read_only(table: CategoryTable) -> None:
    with pytest.raises(ValueError, match="read-only"):
        table.share[0] = 0.5


def test_units_are_seconds(table: CategoryTable) -> None:
    i = table.index_of("gas_leak")
    assert table.work_mean[i] == 30 * 60
    assert table.deadline[i] == 30 * 60


# ---------------------------------------------------------------------------- errors
def test_missing_file() -> None:
    with pytest.raises(ScenarioError, match="no such categories file"):
        load_categories("/nonexistent/cats.csv")


def test_missing_column_named(tmp_path: Path) -> None:
    lines = _lines()
    h = _header_line() - 1
    drop = lines[h].split(",").index("skill")
    for i in range(h, len(lines)):
        cells = lines[i].split(",")
        del cells[drop]
        lines[i] = ",".join(cells)
    path = _write(tmp_path, lines)
    with pytest.raises(ScenarioError) as exc:
        load_categories(path)
    msg = str(exc.value)
    assert f"{path}:{_header_line()}: header: missing column(s) 'skill'" in msg
    assert "required: " + ", ".join(COLUMNS) in msg


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("skill", "plumbing", "unknown value 'plumbing'; allowed: enforcement, maintenance"),
        ("kind", "thing", "unknown value 'thing'; allowed: component, event"),
        ("profile", "noon", "unknown value 'noon'; allowed: flat, day"),
        ("work_kind", "weibull", "unknown value 'weibull'; allowed: lognormal"),
        ("work_mean_min", "-5", "negative time -5 min"),
        ("deadline_min", "-1", "negative time -1 min"),
        ("deadline_min", "0", "the deadline must be > 0 min"),
        ("work_cv", "-0.2", "negative coefficient of variation"),
        ("priority", "4", "is not 1 (high), 2 (normal) or 3 (low)"),
        ("priority", "1.5", "is not a whole number"),
        ("share", "abc", "'abc' is not a number"),
        ("share", "nan", "is not a finite number"),
    ],
)
def test_bad_cell_names_file_row_and_column(
    tmp_path: Path, column: str, value: str, expected: str
) -> None:
    path, line = _edit_cell(tmp_path, "street_lamp_out", column, value)
    with pytest.raises(ScenarioError) as exc:
        load_categories(path)
    msg = str(exc.value)
    assert f"{path}:{line}: column {column!r}: " in msg
    assert expected in msg


def test_shares_must_sum_to_one(tmp_path: Path) -> None:
    path, _ = _edit_cell(tmp_path, "illegal_parking", "share", "0.13")
    with pytest.raises(ScenarioError, match=r"column 'share': shares add up to 1\.01, not 1"):
        load_categories(path)
    # Within the tolerance it loads.
    path, _ = _edit_cell(tmp_path, "illegal_parking", "share", "0.1200000001")
    assert len(load_categories(path)) == len(load_categories())


def test_share_out_of_range(tmp_path: Path) -> None:
    path, line = _edit_cell(tmp_path, "illegal_parking", "share", "1.5")
    with pytest.raises(ScenarioError, match=rf":{line}: column 'share': 1.5 is not in \[0, 1\]"):
        load_categories(path)


def test_duplicate_code_names_both_lines(tmp_path: Path) -> None:
    lines = _lines()
    first = next(i for i, ln in enumerate(lines, 1) if ln.startswith("fallen_tree,"))
    second = next(i for i, ln in enumerate(lines, 1) if ln.startswith("greenery_damaged,"))
    lines[second - 1] = lines[second - 1].replace("greenery_damaged,", "fallen_tree,", 1)
    path = _write(tmp_path, lines)
    with pytest.raises(ScenarioError) as exc:
        load_categories(path)
    assert (
        f"{path}:{second}: column 'code': duplicate code 'fallen_tree' (first on line {first})"
        in str(exc.value)
    )


def test_wrong_number_of_values(tmp_path: Path) -> None:
    lines = _lines()
    i = next(i for i, ln in enumerate(lines) if ln.startswith("gas_leak,"))
    lines[i] += ",extra"
    path = _write(tmp_path, lines)
    with pytest.raises(ScenarioError, match=rf":{i + 1}: column '\*': 14 values for 13 columns"):
        load_categories(path)


def test_all_errors_are_reported_together(tmp_path: Path) -> None:
    path, line1 = _edit_cell(tmp_path, "street_lamp_out", "skill", "plumbing")
    lines = path.read_text(encoding="utf-8").splitlines()
    line2 = next(i for i, ln in enumerate(lines, 1) if ln.startswith("gas_leak,"))
    lines[line2 - 1] = lines[line2 - 1].replace(",flat", ",noon")
    path = _write(tmp_path, lines, "two.csv")
    with pytest.raises(ScenarioError) as exc:
        load_categories(path)
    found = re.findall(r":(\d+): column '(\w+)'", str(exc.value))
    assert (str(line1), "skill") in found
    assert (str(line2), "profile") in found


def test_empty_and_header_only(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="empty categories file"):
        load_categories(_write(tmp_path, ["# only a comment"], "empty.csv"))
    with pytest.raises(ScenarioError, match="no categories"):
        load_categories(_write(tmp_path, [",".join(COLUMNS)], "header.csv"))


def test_custom_skills_and_extra_columns(tmp_path: Path) -> None:
    row = "x,event,street_order,thing,东西,1,2,towing,12,0.3,gamma,60,flat,a note"
    path = _write(tmp_path, [",".join(COLUMNS) + ",note", row])
    with pytest.raises(ScenarioError, match="unknown value 'towing'"):
        load_categories(path)
    t = load_categories(path, skills=["towing"])
    assert t.codes() == ["x"]
    assert t.work_mean[0] == 720.0
    assert t.skill[0] == "towing"


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeff".encode() + DEFAULT.read_bytes())
    assert len(load_categories(path)) == len(load_categories())
