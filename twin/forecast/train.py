"""Train the forecasters on the storm set and save them with model cards."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from twin.forecast.base import Forecaster
from twin.forecast.data import StormRecords, generate_storm_set
from twin.forecast.errors import ForecastError
from twin.forecast.io import FORECASTERS, model_folder, save_forecaster

__all__ = ["KINDS", "build_storm_set", "make_forecaster", "train_forecasters"]

logger = logging.getLogger(__name__)

#: Forecasters in the order they are reported.
KINDS: tuple[str, ...] = ("persistence", "linear", "sarimax", "nhits")


def build_storm_set(*, seed: int, max_storms: int | None = None) -> StormRecords:
    """The storm set of the default Gongshu low points (all splits)."""
    from twin.hydro.lowpoints import low_points
    from twin.network import default_network

    points = low_points(default_network())
    return generate_storm_set(points, seed=seed, max_storms=max_storms)


def make_forecaster(kind: str, **settings: Any) -> Forecaster:
    """A new (unfitted) forecaster of a kind; N-HiTS takes ``settings``."""
    if kind not in FORECASTERS:
        raise ForecastError(f"unknown forecaster {kind!r}; use one of {', '.join(KINDS)}.")
    if kind == "nhits":
        return FORECASTERS[kind](settings=settings or None)  # type: ignore[call-arg]
    if settings:
        raise ForecastError(f"the {kind} forecaster takes no settings (got {sorted(settings)}).")
    return FORECASTERS[kind]()


def train_forecasters(
    data: StormRecords,
    *,
    kinds: tuple[str, ...] = KINDS,
    out: Path | None = None,
    seed: int,
    nhits_settings: dict[str, Any] | None = None,
) -> dict[str, Forecaster]:
    """Fit forecasters on the training (and, for N-HiTS, validation) storms.

    Parameters
    ----------
    data
        Storm set with all splits; test storms are never used.
    kinds
        Forecasters to fit.
    out
        Models folder to save into (``<out>/waterlogging-<kind>``); None: not saved.
    seed
        Seed of every random choice.
    nhits_settings
        Overrides of the N-HiTS settings.

    Returns
    -------
    dict
        Fitted forecasters by kind; each ``info["fit_seconds"]`` holds its wall time.
    """
    fit_data = data.subset(data.split != "test")
    train = fit_data.select("train")
    models: dict[str, Forecaster] = {}
    for kind in kinds:
        model = make_forecaster(kind, **(nhits_settings or {}) if kind == "nhits" else {})
        t0 = time.perf_counter()
        model.fit(fit_data if kind == "nhits" else train, seed=seed)
        model.info["fit_seconds"] = time.perf_counter() - t0
        model.info["seed"] = seed
        model.info["train_storms"] = int(train.n_storms)
        model.info["train_storms_design"] = int((train.source == "design").sum())
        logger.info("fitted %s in %.1f s", kind, model.info["fit_seconds"])
        models[kind] = model
        if out is not None:
            save_forecaster(model, model_folder(kind, out))
    return models
