"""A scenario YAML uploaded in the builder: checked as ``twin run`` checks it, then saved.

The file is read as the CLI reads a scenario (:func:`twin.scenario.load_scenario`, with
its messages: file, line, field); only a valid scenario is saved, under its own name in
the save folder, never over an existing file.
"""

from __future__ import annotations

import base64
import binascii
import tempfile
from pathlib import Path

from dash_app.schema import safe_file_name
from twin.errors import ScenarioError
from twin.scenario import load_scenario

__all__ = ["MAX_BYTES", "save_upload"]

#: The largest scenario file taken [bytes] (a scenario is a few KB).
MAX_BYTES = 1_000_000


def save_upload(contents: str, filename: str, save_dir: Path) -> Path:
    """Check an uploaded scenario and save it in ``save_dir``; return where.

    Parameters
    ----------
    contents
        What ``dcc.Upload`` gives: ``data:<type>;base64,<data>``.
    filename
        The file's name on the planner's machine (only its name is used).
    save_dir
        The builder's save folder.

    Raises
    ------
    ScenarioError
        Not a YAML file, too large, not valid (the CLI's message, naming the uploaded
        file), or a file of that name is there already.
    """
    name = safe_file_name(Path(filename or "").name.removesuffix(".yml"))
    _, _, data = (contents or "").partition(",")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ScenarioError(f"{filename}: could not be read as an uploaded file") from None
    if len(raw) > MAX_BYTES:
        raise ScenarioError(f"{filename}: {len(raw):,} bytes; a scenario file is a few KB")
    target = save_dir / name
    if target.exists():
        raise ScenarioError(f"{name} already exists in {save_dir}; rename the file first")
    with tempfile.TemporaryDirectory() as tmp:
        trial = Path(tmp) / name
        trial.write_bytes(raw)
        try:
            load_scenario(trial)
        except ScenarioError as exc:  # the CLI's message, about the planner's file
            raise ScenarioError(str(exc).replace(str(trial), filename)) from None
    save_dir.mkdir(parents=True, exist_ok=True)
    target.write_bytes(raw)
    return target
