"""Downloads: every file of a run folder, one by one or all in a zip.

Routes on the app's Flask server (no Dash callback: files go straight to the browser):

``/runs/<run id>/files/<path>``
    One file of the run's folder (``kpis.csv``, ``run.nc``, ``cap/alerts.json``, …),
    exactly as ``twin run`` writes it (:func:`twin.run.folder.write_run`).
``/runs/<run id>/files.zip``
    All of them in one zip.

A run without a folder, or a path outside it, answers 404.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, abort, send_from_directory

from dash_app.context import AppContext
from dash_app.library import files_of, zip_folder

__all__ = ["file_links", "file_url", "register_files", "zip_url"]


def file_url(run_id: str, name: str) -> str:
    """The address of one file of a run's folder."""
    return f"/runs/{run_id}/files/{name}"


def zip_url(run_id: str) -> str:
    """The address of the zip of a run's folder."""
    return f"/runs/{run_id}/files.zip"


def file_links(run_id: str, folder: Any) -> list[tuple[str, str]]:
    """``(name, address)`` of every file of a run folder, the zip first."""
    return [
        (f"{run_id}.zip (all files)", zip_url(run_id)),
        *[(name, file_url(run_id, name)) for name in files_of(folder)],
    ]


def register_files(server: Flask, ctx: AppContext) -> None:
    """Add the download routes to the app's Flask server."""

    def folder_of(run_id: str) -> Any:
        job = ctx.runner.get(run_id)
        if job is None or job.folder is None or not job.folder.is_dir():
            abort(404)
        return job.folder

    @server.route("/runs/<run_id>/files/<path:name>")
    def run_file(run_id: str, name: str) -> Response:
        return send_from_directory(folder_of(run_id), name, as_attachment=True)

    @server.route("/runs/<run_id>/files.zip")
    def run_zip(run_id: str) -> Response:
        data = zip_folder(folder_of(run_id))
        return Response(
            data,
            mimetype="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{run_id}.zip"'},
        )
