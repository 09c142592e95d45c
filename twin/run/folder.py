"""The run folder: the one writer of what a run produced.

A run folder holds ``run.nc`` (the time × agent Dataset), ``cases.parquet``,
``kpis.parquet`` / ``kpis.csv``, ``escalations.parquet``, and when the run had them
``road_states.csv``, ``crowd_alerts.csv`` / ``crowd_effect.csv``, ``forecast_alerts.csv``,
``forecast_rain.csv``,
``cap/`` (CAP 1.2 XML per message and a JSON feed), ``trucks/`` and ``summary.html``.
:func:`twin.sweep.results.read_run` reads one back.

Everything is written into a staging folder first and moved into place when all of it
is written (:func:`twin.report.output_folder.staged_outputs`): a run that fails to write
(a full disk) leaves no truncated file and the previous run's files as they were; a run
that succeeds replaces the outputs of an earlier run in the folder, removing those it
did not write itself (:data:`RUN_OUTPUTS`), and keeps any other file.
"""

from __future__ import annotations

import json
from pathlib import Path

from twin.report.output_folder import staged_outputs
from twin.run.dask_free import dask_free
from twin.run.report import write_summary
from twin.run.results import RunResult

__all__ = ["RUN_OUTPUTS", "write_run"]

#: Every name a run writes in its folder (files and the ``cap/``, ``trucks/`` folders).
RUN_OUTPUTS = (
    "run.nc",
    "cases.parquet",
    "kpis.parquet",
    "kpis.csv",
    "escalations.parquet",
    "road_states.csv",
    "crowd_alerts.csv",
    "crowd_effect.csv",
    "forecast_rain.csv",
    "forecast_alerts.csv",
    "cap",
    "trucks",
    "summary.html",
)


def write_run(result: RunResult, folder: str | Path, *, report: bool = True) -> dict[str, Path]:
    """Write a run's data (and, with ``report``, its HTML summary) into ``folder``.

    Returns
    -------
    dict[str, Path]
        The files written, by name (``dataset``, ``cases``, ``kpis``, ``summary`` …).

    Raises
    ------
    OutputError
        A file could not be written (disk full, read-only); nothing in ``folder`` was
        replaced.
    """
    folder = Path(folder)
    with dask_free(), staged_outputs(folder, owned=RUN_OUTPUTS) as stage:
        # numpy data only: spare the dask imports (see twin.run.dask_free)
        staged = _write(result, stage, report=report)
    return {key: folder / path.relative_to(stage) for key, path in staged.items()}


def _write(result: RunResult, folder: Path, *, report: bool) -> dict[str, Path]:
    paths = {
        "dataset": folder / "run.nc",
        "cases": folder / "cases.parquet",
        "kpis": folder / "kpis.parquet",
        "kpis_csv": folder / "kpis.csv",
        "escalations": folder / "escalations.parquet",
    }
    result.dataset.to_netcdf(paths["dataset"])
    result.cases.to_parquet(paths["cases"], index=False)
    result.kpis.to_parquet(paths["kpis"], index=False)
    result.kpis.to_csv(paths["kpis_csv"], index=False)
    result.escalations.to_parquet(paths["escalations"], index=False)
    if result.road_states is not None and len(result.road_states):
        paths["road_states"] = folder / "road_states.csv"
        result.road_states.to_csv(paths["road_states"], index=False)
    if result.crowds is not None:
        paths["crowd_alerts"] = folder / "crowd_alerts.csv"
        result.crowds.alerts.to_csv(paths["crowd_alerts"], index=False)
        paths["crowd_effect"] = folder / "crowd_effect.csv"
        result.crowds.effect.to_csv(paths["crowd_effect"])
    if result.forecast_rain is not None:
        paths["forecast_rain"] = folder / "forecast_rain.csv"
        result.forecast_rain.to_csv(paths["forecast_rain"], index=False)
    if result.forecast_alerts is not None:
        paths["forecast_alerts"] = folder / "forecast_alerts.csv"
        result.forecast_alerts.to_csv(paths["forecast_alerts"], index=False)
    if result.cap_messages:
        from twin.alerts import cap_json, cap_xml

        cap = folder / "cap"
        cap.mkdir(exist_ok=True)
        for i, msg in enumerate(result.cap_messages):
            (cap / f"{i:04d}-{msg.msg_type.lower()}.xml").write_text(cap_xml(msg), encoding="utf-8")
        feed = [cap_json(m) for m in result.cap_messages]
        paths["cap_feed"] = cap / "alerts.json"
        paths["cap_feed"].write_text(json.dumps(feed, ensure_ascii=False, indent=1))
    if result.trucks is not None:
        for key, p in result.trucks.write(folder / "trucks").items():
            paths[f"trucks_{key}"] = p
    if report:
        paths["summary"] = write_summary(result, folder / "summary.html", network=result.network)
    return paths
