"""Bad command-line inputs: one line saying what, where and what to do, before any work.

Each case of issue 22's CLI section, run through the real ``twin`` entry point. "Before
any work" is checked by what is left behind (no output folder created), never by time.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.test_cli import ROOT, one_line_error, twin

SHORT = (
    'name: short\nstart: "2026-06-01T08:00:00"\nhorizon: 1h\nseed: 4\n'
    "cases:\n  daily_total: 300\ncrews:\n  count: 20\n"
)


@pytest.fixture
def short(tmp_path: Path) -> Path:
    path = tmp_path / "short.yaml"
    path.write_text(SHORT)
    return path


def test_binary_scenario(tmp_path: Path) -> None:
    f = tmp_path / "bin.yaml"
    f.write_bytes(b"\x00\x01\xff\xfe binary \x89PNG\r\n")
    one_line_error(twin("run", str(f)), "bin.yaml:1", "not a text file", "UTF-8 YAML")


def test_gbk_scenario(tmp_path: Path) -> None:
    f = tmp_path / "gbk.yaml"
    f.write_bytes('name: 测试\nstart: "2026-06-01T08:00:00"\n'.encode("gbk"))
    one_line_error(twin("compare", str(f)), "gbk.yaml:1", "GBK", "save it as UTF-8")


def test_place_budget_zero_fails_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "placement"
    r = twin("place", "--scenario", str(ROOT / "scenarios" / "gongshu_rainstorm.yaml"),
             "--budget", "0", "--out", str(out))  # fmt: skip
    one_line_error(r, "--budget 0", "buys no sensor", "at least 1")
    assert not out.exists()


@pytest.mark.parametrize("cmd", ["run", "compare"])
def test_output_folder_that_is_a_file(cmd: str, short: Path, tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    one_line_error(twin(cmd, str(short), "--out", str(taken)), "--out", "is a file, not a folder")
    one_line_error(twin(cmd, str(short), "--out", str(taken / "sub")), "no folder can be made")
    assert taken.read_text() == "not a folder"


def test_huge_seed_fails_before_the_run(short: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = twin("run", str(short), "--seed", "99999999999999999999", "--out", str(out))
    one_line_error(r, "--seed 99999999999999999999", "from 0 to 9223372036854775807")
    assert not out.exists()


def test_huge_seed_in_the_file(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(SHORT.replace("seed: 4", "seed: 99999999999999999999"))
    one_line_error(twin("run", str(f), "--out", str(tmp_path / "o")), "s.yaml:4", "seed")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("confidence", ["1.5", "0", "-0.2"])
def test_compare_confidence(confidence: str, short: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    r = twin("compare", str(short), "--confidence", confidence, "--out", str(out))
    one_line_error(r, f"--confidence {float(confidence):g}", "between 0 and 1")
    assert not out.exists()


def test_start_offset_conflicting_with_timezone(tmp_path: Path) -> None:
    f = tmp_path / "tz.yaml"
    f.write_text(SHORT.replace('"2026-06-01T08:00:00"', '"2026-06-01T08:00:00+00:00"'))
    one_line_error(twin("run", str(f)), "tz.yaml:2", "start", "timezone Asia/Shanghai", "+08:00")


def test_ten_year_horizon_refused_unless_forced(tmp_path: Path) -> None:
    f = tmp_path / "long.yaml"
    f.write_text(SHORT.replace("horizon: 1h", "horizon: 3650d"))
    r = twin("run", str(f), "--out", str(tmp_path / "o"))
    one_line_error(r, "long.yaml: horizon", "over the limit of 366 days", "GB of memory", "--force")
    assert not (tmp_path / "o").exists()


def test_rerun_replaces_the_previous_outputs(short: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "cap").mkdir(parents=True)
    (out / "cap" / "0000-alert.xml").write_text("an earlier run's alert")
    (out / "road_states.csv").write_text("an earlier run's road states")
    (out / "notes.txt").write_text("the user's own file")
    r = twin("run", str(short), "--out", str(out))
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["cases.parquet", "escalations.parquet", "kpis.csv", "kpis.parquet",
                     "notes.txt", "run.nc", "summary.html"]  # fmt: skip
    assert (out / "summary.html").read_text(encoding="utf-8").rstrip().endswith("</html>")


def test_help_documents_the_rules() -> None:
    r = twin("run", "--help")
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    for words in ("--strict", "--force", "366 days", "replaced", "other files in it are kept"):
        assert words in text, words


# ---------------------------------------------------------------------------- replay
REPLAY = """name: replay
start: "2026-06-01T08:00:00"
horizon: 1h
seed: 1
crews:
  count: 20
cases:
  replay:
    path: cases.csv
    mapping: {time: time, category: category}
    relocate: sample
    time_shift: none
"""
CSV = """time,category
2026-06-01T08:00:00,noise_nuisance
2026-06-01T08:05:00,teleporting
not a time,noise_nuisance
2026-06-01T08:07:00,noise_nuisance,extra,cells
2026-06-01T08:08:00,illegal_parking
"""


@pytest.fixture
def replay(tmp_path: Path) -> Path:
    (tmp_path / "cases.csv").write_text(CSV)
    path = tmp_path / "replay.yaml"
    path.write_text(REPLAY)
    return path


def test_replay_bad_rows_warned_with_lines(replay: Path, tmp_path: Path) -> None:
    r = twin("run", str(replay), "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    warnings = [x for x in r.stderr.splitlines() if x.startswith("warning:")]
    assert len(warnings) == 1, r.stderr
    for words in ("skipped 3 of 5 rows", "line 3: unknown category: 'teleporting'",
                  "line 4: unparseable time", "line 5: malformed row", "--strict"):  # fmt: skip
        assert words in warnings[0], warnings[0]


def test_replay_strict_makes_bad_rows_an_error(replay: Path, tmp_path: Path) -> None:
    r = twin("run", str(replay), "--strict", "--out", str(tmp_path / "o"))
    one_line_error(r, "cases.csv: 3 of 5 rows", "strict replay", "line 3", "Fix or remove")
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------- other commands
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("trucks", "run", "--start", "2024-06-01T12:00Z", "--hours", "1"),
         ("--start", "--timezone Asia/Shanghai")),
        (("trucks", "run", "--hours", "0"), ("--hours 0",)),
        (("sweep", "SHORT", "--format", "csv"), ("--format 'csv'", "netcdf or zarr")),
        (("sweep", "SHORT", "--confidence", "1"), ("--confidence 1", "between 0 and 1")),
        (("demo", "--replications", "1"), ("--replications 1", "at least 2")),
        (("compare", "SHORT", "--replications", "1"), ("--replications 1", "at least 2")),
    ],
)  # fmt: skip
def test_other_commands(args: tuple[str, ...], words: tuple[str, ...], short: Path) -> None:
    r: subprocess.CompletedProcess[str] = twin(*(str(short) if a == "SHORT" else a for a in args))
    one_line_error(r, *words)


# ---------------------------------------------------------------------------- usage errors
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("run", "SHORT", "--seed", "abc"), ("Invalid value for '--seed'", "run --help")),
        (("place", "--scenario", "SHORT", "--budget", "lots"), ("'--budget'",)),
        (("run",), ("Missing argument 'scenario_file'",)),
        (("rnu",), ("No such command 'rnu'", "Did you mean 'run'?")),
    ],
)  # fmt: skip
def test_usage_errors_are_one_line(
    args: tuple[str, ...], words: tuple[str, ...], short: Path
) -> None:
    r = twin(*(str(short) if a == "SHORT" else a for a in args))
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    for w in words:
        assert w in lines[0], lines[0]
