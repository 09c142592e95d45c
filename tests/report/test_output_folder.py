"""Output folders: checked before the work, written whole or not at all."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from twin.errors import OutputError, TwinError
from twin.report import output_folder
from twin.report.output_folder import check_output_folder, staged_outputs, write_text_atomic
from twin.report.page import write_page


def _fail(code: int) -> Any:
    def raise_(*args: Any, **kwargs: Any) -> None:
        raise OSError(code, os.strerror(code))

    return raise_


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".twin-tmp-"))


def test_output_error_is_twin_and_os_error() -> None:
    assert issubclass(OutputError, TwinError) and issubclass(OutputError, OSError)


def test_a_new_folder_is_fine_and_not_created(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    assert check_output_folder(target) == target
    assert not (tmp_path / "a").exists()
    assert leftovers(tmp_path) == []  # the probe is removed


def test_folder_that_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "taken"
    f.write_text("x")
    with pytest.raises(OutputError, match=r"--out .*taken: is a file, not a folder"):
        check_output_folder(f)
    with pytest.raises(OutputError, match=r"taken is a file, so no folder can be made"):
        check_output_folder(f / "sub" / "dir")


def test_read_only_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulated: permission bits do not stop root, who runs the tests in containers.
    monkeypatch.setattr(output_folder.tempfile, "mkstemp", _fail(errno.EROFS))
    with pytest.raises(OutputError, match=r"cannot write in .*read-only"):
        check_output_folder(tmp_path / "out", option="--out")


def test_full_disk_found_by_the_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output_folder.os, "fsync", _fail(errno.ENOSPC))
    with pytest.raises(OutputError, match="disk is full"):
        check_output_folder(tmp_path)
    assert leftovers(tmp_path) == []


def test_too_little_space_for_the_estimate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Usage:
        free = 10_000_000

    monkeypatch.setattr(output_folder.shutil, "disk_usage", lambda p: Usage())
    check_output_folder(tmp_path, need_bytes=5_000_000)
    with pytest.raises(OutputError, match=r"need about 47\.7 MB and only 9\.5 MB is free"):
        check_output_folder(tmp_path, need_bytes=50_000_000)


def test_staged_outputs_replace_the_previous_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "cap").mkdir(parents=True)
    (out / "cap" / "old.xml").write_text("old alert")
    (out / "a.csv").write_text("old a")
    (out / "b.csv").write_text("old b")
    (out / "notes.txt").write_text("the user's")
    with staged_outputs(out, owned=("a.csv", "b.csv", "cap", "trucks")) as stage:
        (stage / "a.csv").write_text("new a")
        (stage / "trucks").mkdir()
        (stage / "trucks" / "t.csv").write_text("new t")
    assert (out / "a.csv").read_text() == "new a"
    assert not (out / "b.csv").exists()  # an earlier run's output not written this time
    assert not (out / "cap").exists()
    assert (out / "trucks" / "t.csv").read_text() == "new t"
    assert (out / "notes.txt").read_text() == "the user's"  # not ours: kept
    assert leftovers(out) == []


def test_staged_folder_replaces_a_folder(tmp_path: Path) -> None:
    (tmp_path / "cap").mkdir()
    (tmp_path / "cap" / "0000-alert.xml").write_text("old")
    with staged_outputs(tmp_path, owned=("cap",)) as stage:
        (stage / "cap").mkdir()
        (stage / "cap" / "0001-cancel.xml").write_text("new")
    assert sorted(p.name for p in (tmp_path / "cap").iterdir()) == ["0001-cancel.xml"]


def test_failed_write_leaves_the_previous_files(tmp_path: Path) -> None:
    (tmp_path / "summary.html").write_text("previous, complete")
    (tmp_path / "run.nc").write_text("previous run")
    full = pytest.raises(OutputError, match=r"writing .*summary\.html failed.*disk is full")
    with full, staged_outputs(tmp_path, owned=("run.nc", "summary.html")) as stage:
        (stage / "run.nc").write_text("new run")
        with open(stage / "summary.html", "w") as fh:
            fh.write("<html>trunc")  # a truncated page, then the disk fills up
            raise OSError(errno.ENOSPC, "No space left on device", str(fh.name))
    assert (tmp_path / "summary.html").read_text() == "previous, complete"
    assert (tmp_path / "run.nc").read_text() == "previous run"
    assert leftovers(tmp_path) == []


def test_other_errors_pass_through_and_clean_up(tmp_path: Path) -> None:
    with pytest.raises(TypeError), staged_outputs(tmp_path) as stage:
        (stage / "x").write_text("half")
        raise TypeError("a bug, not an output problem")
    assert list(tmp_path.iterdir()) == []


def test_write_text_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "report.html"
    write_text_atomic(page, "first")
    assert page.read_text() == "first"
    assert page.stat().st_mode & 0o044  # readable by others as usual, not mkstemp's 0600
    monkeypatch.setattr(output_folder.os, "replace", _fail(errno.ENOSPC))
    with pytest.raises(OutputError, match=r"report\.html: cannot write: the disk is full"):
        write_page(page, "second, never seen")
    assert page.read_text() == "first"
    assert leftovers(tmp_path) == []


def test_a_page_failing_inside_the_stage_names_the_real_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "new"
    monkeypatch.setattr(output_folder.os, "replace", _fail(errno.ENOSPC))
    with pytest.raises(OutputError) as info, staged_outputs(out) as stage:
        write_page(stage / "report.html", "<html></html>")
    msg = str(info.value)
    assert f"{out}/report.html: cannot write: the disk is full" in msg
    assert ".twin-tmp-" not in msg and "nothing in" in msg
    assert not out.exists()  # made for the outputs, removed again
