"""The run library: every finished run kept on disk as a run folder, read back at start.

A run finished in the app is written with :func:`twin.run.folder.write_run`, the
writer of ``twin run``, into ``<root>/<run id>/`` (``run.nc``, ``cases.parquet``,
``kpis.csv``, ``summary.html``, ``cap/``, …), with ``app.json`` beside it holding what
the app shows of it (its name in the menus). So the files a planner downloads are the
files the CLI would write, and the runs survive a page reload and a server restart.

At start the app reads the newest runs back (:func:`twin.sweep.results.read_run`);
any run folder put in the library by hand, e.g. one written by ``twin run --out``, is
offered too, named after its folder.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dash_app.comparison import rain_summary
from twin.run.folder import write_run
from twin.run.results import RunResult

__all__ = ["APP_META", "RunLibrary", "StoredRun", "default_runs_dir", "zip_folder"]

logger = logging.getLogger(__name__)

#: What the app keeps of a run beside the CLI's files.
APP_META = "app.json"
_RUN_ID = re.compile(r"^run-(\d+)$")


def default_runs_dir() -> Path:
    """Where ``twin app`` keeps its runs: ``$XDG_DATA_HOME/city-twin/app-runs``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "city-twin" / "app-runs"


@dataclass(frozen=True)
class StoredRun:
    """A run folder of the library, before it is read.

    Attributes
    ----------
    id
        The run's id in the app (its folder's name).
    folder
        The run folder.
    label
        Its name in the menus (``None``: not an app run; named when read).
    meta
        The rest of ``app.json`` (``base_dir``, times).
    """

    id: str
    folder: Path
    label: str | None
    meta: dict[str, Any]

    @property
    def number(self) -> int:
        """The ``N`` of an app run ``run-N`` (0 for other folders)."""
        m = _RUN_ID.match(self.id)
        return int(m.group(1)) if m else 0


class RunLibrary:
    """Run folders under one root folder, one per run.

    Parameters
    ----------
    root
        The library's folder (made when missing).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def folder(self, run_id: str) -> Path:
        """The folder of a run (whether or not it exists)."""
        if not run_id or "/" in run_id or "\\" in run_id or run_id in (".", ".."):
            raise ValueError(f"not a run id: {run_id!r}")
        return self.root / run_id

    def save(self, run_id: str, result: RunResult, meta: dict[str, Any]) -> Path:
        """Write a run's folder as ``twin run`` would, and ``app.json`` beside it."""
        folder = self.folder(run_id)
        write_run(result, folder)
        (folder / APP_META).write_text(
            json.dumps({"id": run_id, **meta}, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        return folder

    def stored(self) -> list[StoredRun]:
        """The run folders of the library, oldest first (app runs by number, then others)."""
        found = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            if not (folder / "run.nc").is_file():
                continue
            meta: dict[str, Any] = {}
            try:
                meta = json.loads((folder / APP_META).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                meta = {}
            label = meta.pop("label", None)
            meta.pop("id", None)
            found.append(StoredRun(folder.name, folder, label, meta))
        return sorted(found, key=lambda s: (s.number == 0, s.number, s.id))

    def read(self, stored: StoredRun) -> tuple[RunResult, str]:
        """A stored run read back (no network), and its name in the menus."""
        from twin.sweep.results import read_run

        result = read_run(stored.folder)
        label = stored.label
        if label is None:  # a folder written by the CLI
            sc = result.scenario
            label = (
                f"{stored.id} (folder) · {sc.name} · {sc.dispatch.policy} · "
                f"{sc.crews.count} crews · {rain_summary(sc)} · seed {sc.seed}"
            )
        return result, label

    def rename(self, run_id: str, label: str) -> None:
        """Give a stored run another name in the menus."""
        path = self.folder(run_id) / APP_META
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {"id": run_id}
        meta["label"] = label
        path.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")

    def delete(self, run_id: str) -> None:
        """Remove a run's folder from the library."""
        shutil.rmtree(self.folder(run_id), ignore_errors=True)


def files_of(folder: Path) -> list[str]:
    """The files of a run folder, as paths relative to it (``app.json`` left out)."""
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != APP_META
    )


def zip_folder(folder: Path) -> bytes:
    """Every file of a run folder (but ``app.json``) in one zip, under the folder's name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in files_of(folder):
            z.write(folder / name, arcname=f"{folder.name}/{name}")
    return buffer.getvalue()
