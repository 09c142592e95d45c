"""A background job on a page: its progress bar, its status line and its result.

A page that queues work on the runner (:class:`~dash_app.jobs.JobRunner`) names its
components after one prefix ``p``: the stores ``p-job`` (the id of the page's job) and
``p-job-seen`` (the job state last drawn), the bar ``p-progress-bar`` and the status
line ``p-job-text``. :func:`job_stores` and :func:`progress_bar` lay them out,
:func:`queue_outputs` and :func:`queued` are the outputs and the reply of the callback
that queues the job, and :func:`register_progress` registers the one callback that
follows the job: it listens to the app's ``jobs-state`` (which changes only when a job
moves on), moves the bar, says what the job is doing, and fills the page's own outputs
with the result when the job is done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dash
from dash import Dash, Input, Output, State, dcc, html

from dash_app.context import AppContext
from dash_app.jobs import Job

__all__ = [
    "JOBS_STATE",
    "JobIds",
    "job_stores",
    "progress_bar",
    "queue_outputs",
    "queued",
    "register_progress",
    "stage_text",
]

#: The app's store that changes whenever a job is queued, moves on or ends.
JOBS_STATE = "jobs-state"


@dataclass(frozen=True)
class JobIds:
    """The component ids of a page's job, all named after the page's ``prefix``."""

    prefix: str

    @property
    def job(self) -> str:
        """The store holding the id of the page's job."""
        return f"{self.prefix}-job"

    @property
    def seen(self) -> str:
        """The store holding the job state last drawn."""
        return f"{self.prefix}-job-seen"

    @property
    def bar(self) -> str:
        """The progress bar."""
        return f"{self.prefix}-progress-bar"

    @property
    def text(self) -> str:
        """The status line."""
        return f"{self.prefix}-job-text"


def job_stores(prefix: str) -> list[dcc.Store]:
    """The two stores of a page's job (its id, the state last drawn).

    The job's id is kept in the browser tab's session storage: a reload of the page
    shows the page's last job again (its progress, or its result: a forecast replay,
    a storm ensemble, the intervals of a comparison), and each tab follows its own.
    """
    ids = JobIds(prefix)
    return [dcc.Store(id=ids.job, storage_type="session"), dcc.Store(id=ids.seen)]


def progress_bar(prefix: str) -> list[html.Div]:
    """The progress bar and the status line of a page's job."""
    ids = JobIds(prefix)
    return [
        html.Div(html.Div(id=ids.bar, className="bar"), className="progress"),
        html.Div(id=ids.text, className="job-text"),
    ]


def queue_outputs(prefix: str) -> list[Output]:
    """The outputs of the callback that queues a page's job: the job's id, the status."""
    ids = JobIds(prefix)
    return [Output(ids.job, "data"), Output(ids.text, "children", allow_duplicate=True)]


def queued(job: Job) -> tuple[str, str]:
    """The reply of the callback that queues a job (for :func:`queue_outputs`)."""
    return job.id, f"Queued {job.label}"


def stage_text(snap: dict[str, Any]) -> str:
    """The status line of a queued or running job: its label and what it is doing."""
    return f"{snap['label']}: {snap['stage']}"


def register_progress(
    app: Dash,
    ctx: AppContext,
    prefix: str,
    *,
    failed: str,
    done: Callable[[Job], tuple[Any, ...]],
    outputs: Sequence[Output] = (),
    on_failure: Sequence[Any] | None = None,
    running: Callable[[dict[str, Any]], Any] = stage_text,
    error_id: str | None = None,
) -> None:
    """Register the callback that follows a page's job on ``app``.

    Parameters
    ----------
    app, ctx
        The app and its context (whose runner holds the job).
    prefix
        The prefix of the page's job ids (:class:`JobIds`).
    failed
        The start of the message when the job fails (the job's reason follows).
    done
        ``done(job)`` of a finished job: the status line, then one value for each of
        ``outputs``.
    outputs
        The page's own outputs, filled when the job is done.
    on_failure
        What ``outputs`` get when the job fails (default: left as they are).
    running
        ``running(snapshot)``: the status line while the job is queued or running.
    error_id
        The id of the failure message, if a test or a page looks for it.
    """
    ids = JobIds(prefix)
    extra = list(outputs)
    keep = tuple(on_failure) if on_failure is not None else (dash.no_update,) * len(extra)

    @app.callback(
        Output(ids.bar, "style"),
        Output(ids.bar, "className"),
        Output(ids.text, "children"),
        *extra,
        Output(ids.seen, "data"),
        Input(JOBS_STATE, "data"),
        Input(ids.job, "data"),
        State(ids.seen, "data"),
    )
    def progress(_: Any, job_id: str | None, seen: dict[str, Any] | None) -> tuple[Any, ...]:
        snap = ctx.runner.snapshot(job_id)
        if snap is None:
            raise dash.exceptions.PreventUpdate
        state = {k: snap[k] for k in ("id", "status", "progress", "stage")}
        if seen == state:
            raise dash.exceptions.PreventUpdate
        width = {"width": f"{100 * snap['progress']:.0f}%"}
        if snap["status"] == "done":
            job = ctx.runner.get(job_id)
            assert job is not None
            return (width, "bar done", *done(job), state)
        if snap["status"] == "failed":
            attrs: dict[str, Any] = {"id": error_id} if error_id else {}
            text = html.Div(
                [html.Strong(failed), snap["error"] or "no reason given"],
                className="alert alert-error",
                **attrs,
            )
            return ({"width": "100%"}, "bar failed", text, *keep, state)
        return (width, "bar", running(snap), *(dash.no_update,) * len(extra), state)
