"""Save and load forecasters: one folder per model, with a model card.

A model folder holds ``model.json`` (kind, format version, settings, the low points it
knows with their static features, training facts and metrics), ``arrays.npz``
(coefficients or network weights) and ``MODEL_CARD.md``. Loading needs no training and
no network: the static features travel with the model.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from twin._types import FloatArray
from twin.forecast.base import Forecaster
from twin.forecast.baselines import LinearRainForecaster, PersistenceForecaster
from twin.forecast.data import STATIC_FEATURES, PointFeatures
from twin.forecast.errors import ModelFileError
from twin.forecast.neural import NHiTSForecaster
from twin.forecast.sarimax import SarimaxForecaster

__all__ = [
    "FORECASTERS",
    "FORMAT_VERSION",
    "SHIPPED_VARIANTS",
    "default_models_dir",
    "load_forecaster",
    "load_shipped",
    "save_forecaster",
    "shipped_kind",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
#: Forecaster classes by kind.
FORECASTERS: dict[str, type[Forecaster]] = {
    cls.kind: cls
    for cls in (PersistenceForecaster, LinearRainForecaster, SarimaxForecaster, NHiTSForecaster)
}


#: Suffixes of shipped model names beside the kind: ``<kind>-nowcast`` was trained with
#: the nowcast as its future-rain covariate (:mod:`twin.forecast.windows`).
SHIPPED_VARIANTS: tuple[str, ...] = ("nowcast",)


def shipped_kind(name: str) -> str:
    """The forecaster kind of a shipped model name (``nhits-nowcast`` → ``nhits``).

    Raises
    ------
    ModelFileError
        An unknown kind or variant.
    """
    kind, _, variant = name.partition("-")
    if kind not in FORECASTERS or (variant and variant not in SHIPPED_VARIANTS):
        names = [*FORECASTERS, *(f"{k}-{v}" for k in FORECASTERS for v in SHIPPED_VARIANTS)]
        raise ModelFileError(f"unknown forecaster {name!r}; use one of {', '.join(names)}.")
    return kind


def default_models_dir() -> Path:
    """The repository's ``models/`` folder (the shipped, pretrained forecasters)."""
    return Path(__file__).resolve().parents[2] / "models"


def model_folder(name: str, root: Path | None = None) -> Path:
    """Folder of a shipped model: ``models/waterlogging-<name>`` (a kind, or a variant)."""
    return (root or default_models_dir()) / f"waterlogging-{name}"


def save_forecaster(
    model: Forecaster,
    folder: str | Path,
    *,
    metadata: dict[str, Any] | None = None,
    card: str | None = None,
) -> Path:
    """Write a fitted forecaster to ``folder`` (created).

    Parameters
    ----------
    model
        A fitted forecaster.
    folder
        Destination folder; its ``model.json``, ``arrays.npz`` and (with ``card``)
        ``MODEL_CARD.md`` are replaced.
    metadata
        Extra JSON-able facts (training data, metrics) stored under ``metadata``.
    card
        Markdown of the model card.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    if model.points is None:
        raise ModelFileError(f"the {model.kind} forecaster is not fitted; nothing to save.")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    config, arrays = model.get_state()
    from twin import __version__ as twin_version

    doc = {
        "format": "twin-waterlogging-forecaster",
        "format_version": FORMAT_VERSION,
        "kind": model.kind,
        "label": model.label,
        "twin_version": twin_version,
        "saved": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "config": config,
        "points": {
            "ids": model.points.ids.tolist(),
            "static_features": list(STATIC_FEATURES),
            "static": model.points.static.tolist(),
        },
        "info": model.info,
        "metadata": metadata or {},
    }
    (out / "model.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    np.savez_compressed(out / "arrays.npz", **arrays)  # type: ignore[arg-type]
    if card is not None:
        (out / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    return out


def load_forecaster(folder: str | Path) -> Forecaster:
    """Read a forecaster written by :func:`save_forecaster`.

    Raises
    ------
    ModelFileError
        Missing files, another format, a newer format version or an unknown kind.
    """
    src = Path(folder)
    meta_path, arr_path = src / "model.json", src / "arrays.npz"
    for path in (meta_path, arr_path):
        if not path.is_file():
            raise ModelFileError(
                f"{path}: no such file; {src} is not a saved forecaster (train one with "
                "`twin forecast train --out FOLDER`, or use the shipped models/)."
            )
    try:
        doc = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{meta_path}: not valid JSON ({exc}).") from exc
    if doc.get("format") != "twin-waterlogging-forecaster":
        raise ModelFileError(f"{meta_path}: not a twin forecaster (format {doc.get('format')!r}).")
    if int(doc.get("format_version", 0)) > FORMAT_VERSION:
        raise ModelFileError(
            f"{meta_path}: format version {doc['format_version']} is newer than this twin "
            f"reads ({FORMAT_VERSION}); update the twin."
        )
    kind = str(doc.get("kind"))
    if kind not in FORECASTERS:
        raise ModelFileError(f"{meta_path}: unknown kind {kind!r}; known: {sorted(FORECASTERS)}.")
    with np.load(arr_path) as npz:
        arrays: dict[str, FloatArray] = {k: npz[k] for k in npz.files}
    model = FORECASTERS[kind].from_state(doc["config"], arrays)
    pts = doc["points"]
    model.points = PointFeatures(
        ids=np.array(pts["ids"], dtype=str), static=np.array(pts["static"], dtype=np.float64)
    )
    model.info = dict(doc.get("info", {}))
    model.info["metadata"] = doc.get("metadata", {})
    return model


def load_shipped(name: str = "nhits", root: Path | None = None) -> Forecaster:
    """A shipped, pretrained forecaster (default the N-HiTS model).

    Parameters
    ----------
    name
        A kind (``"nhits"``, ``"sarimax"``, ``"linear"``, ``"persistence"``), or a kind
        and a variant of :data:`SHIPPED_VARIANTS` (``"nhits-nowcast"``,
        ``"sarimax-nowcast"``: trained with the nowcast as the future-rain covariate).
    root
        Models folder (default the repository's ``models/``).
    """
    kind = shipped_kind(name)
    model = load_forecaster(model_folder(name, root))
    if model.kind != kind:
        raise ModelFileError(
            f"{model_folder(name, root)} holds a {model.kind} forecaster, not {kind}."
        )
    return model
