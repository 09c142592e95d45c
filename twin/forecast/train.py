"""Train the forecasters on the storm set and save them with model cards.

The storm set (:func:`build_storm_set`) is the Singapore gauge catalogue and the design
storms (:func:`twin.forecast.data.generate_storm_set`) and, unless left out, transposed
radar storms of the training and validation radar events with their pysteps nowcasts
(:func:`twin.forecast.radar_storms.radar_storm_set`). A forecaster learns from windows
whose future rain is ``future_rain``: ``"nowcast"`` (the default: what operations had at
the issue time) or ``"observed"`` (the rain that fell, an oracle; the former training,
reachable only by asking for it). Models trained on the nowcast are saved as
``waterlogging-<kind>-nowcast``, the others as ``waterlogging-<kind>``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from twin.forecast.base import Forecaster
from twin.forecast.data import StormRecords, generate_storm_set
from twin.forecast.errors import ForecastError
from twin.forecast.io import FORECASTERS, model_folder, save_forecaster
from twin.forecast.records import combine_records
from twin.forecast.windows import FutureRain, check_future_rain

__all__ = [
    "KINDS",
    "build_storm_set",
    "make_forecaster",
    "shipped_name",
    "train_forecasters",
    "training_facts",
]

logger = logging.getLogger(__name__)

#: Forecasters in the order they are reported.
KINDS: tuple[str, ...] = ("persistence", "linear", "sarimax", "nhits")


def shipped_name(kind: str, future_rain: str) -> str:
    """The folder name of a model: ``<kind>-nowcast`` when trained on the nowcast."""
    check_future_rain(future_rain)
    return f"{kind}-nowcast" if future_rain == "nowcast" else kind


def build_storm_set(
    *,
    seed: int,
    max_storms: int | None = None,
    radar_placements: int = 4,
    radar_method: str = "extrapolation",
    hidden_drains: bool = True,
) -> StormRecords:
    """The storm set of the default Gongshu low points (all splits).

    Parameters
    ----------
    seed
        Seed of every draw.
    max_storms
        At most this many catalogue storms per split (quick runs).
    radar_placements
        Placements per training and validation radar event (0: no radar storms; the
        test radar event is never included).
    radar_method
        pysteps method of the radar storms' nowcasts.
    hidden_drains
        The gauge storms' water from the city's real drains
        (:data:`twin.hydro.truth.DRAIN_CLIMATOLOGY`; :mod:`twin.forecast.data`), not the
        nominal ones (the radar storms always have hidden drains).
    """
    from twin.hydro.lowpoints import low_points
    from twin.hydro.truth import DRAIN_CLIMATOLOGY
    from twin.network import default_network

    net = default_network()
    points = low_points(net)
    data = generate_storm_set(
        points, seed=seed, max_storms=max_storms,
        drains=DRAIN_CLIMATOLOGY if hidden_drains else None,
    )  # fmt: skip
    if radar_placements <= 0:
        return data
    from twin.forecast.radar_storms import radar_storm_set

    radar = radar_storm_set(
        placements=radar_placements, method=radar_method, net=net, seed=seed + 1
    )
    return combine_records(data, radar)


def make_forecaster(
    kind: str, *, future_rain: FutureRain = "nowcast", **settings: Any
) -> Forecaster:
    """A new (unfitted) forecaster of a kind, to train on ``future_rain``.

    N-HiTS takes ``settings`` (:data:`twin.forecast.neural.DEFAULTS`).
    """
    if kind not in FORECASTERS:
        raise ForecastError(f"unknown forecaster {kind!r}; use one of {', '.join(KINDS)}.")
    check_future_rain(future_rain)
    if kind == "nhits":
        settings = {**settings, "future_rain": future_rain}
        return FORECASTERS[kind](settings=settings)  # type: ignore[call-arg]
    if settings:
        raise ForecastError(f"the {kind} forecaster takes no settings (got {sorted(settings)}).")
    return FORECASTERS[kind](future_rain=future_rain)  # type: ignore[call-arg]


def training_facts(data: StormRecords) -> dict[str, Any]:
    """What a model was trained on: storms by source and split, radar events, nowcast."""
    fit = data.subset(data.split != "test")
    out: dict[str, Any] = {}
    for split in ("train", "validation"):
        part = fit.split == split
        for source in ("catalogue", "design", "radar"):
            n = int((part & (fit.source == source)).sum())
            if n:
                out[f"{split}_storms_{source}"] = n
    if fit.drains:
        out["drains"] = fit.drains
    radar = [str(s) for s in fit.storm_id[fit.source == "radar"]]
    if radar:
        out["radar_storms"] = radar
        out["radar_nowcast"] = fit.nowcast_label
    return out


def train_forecasters(
    data: StormRecords,
    *,
    kinds: tuple[str, ...] = KINDS,
    out: Path | None = None,
    seed: int,
    nhits_settings: dict[str, Any] | None = None,
    future_rain: FutureRain = "nowcast",
) -> dict[str, Forecaster]:
    """Fit forecasters on the training (and, for N-HiTS, validation) storms.

    Parameters
    ----------
    data
        Storm set with all splits; test storms are never used.
    kinds
        Forecasters to fit.
    out
        Models folder to save into (``<out>/waterlogging-<name>``,
        :func:`shipped_name`); None: not saved.
    seed
        Seed of every random choice.
    nhits_settings
        Overrides of the N-HiTS settings.
    future_rain
        The training windows' future rain: ``"nowcast"`` or ``"observed"`` (module
        docstring).

    Returns
    -------
    dict
        Fitted forecasters by kind; each ``info["fit_seconds"]`` holds its wall time.
    """
    fit_data = data.subset(data.split != "test")
    train = fit_data.select("train")
    facts = training_facts(data)
    models: dict[str, Forecaster] = {}
    for kind in kinds:
        settings = (nhits_settings or {}) if kind == "nhits" else {}
        model = make_forecaster(kind, future_rain=future_rain, **settings)
        t0 = time.perf_counter()
        model.fit(fit_data if kind == "nhits" else train, seed=seed)
        model.info["fit_seconds"] = time.perf_counter() - t0
        model.info["seed"] = seed
        model.info["future_rain"] = future_rain
        model.info["train_storms"] = int(train.n_storms)
        model.info["train_storms_design"] = int((train.source == "design").sum())
        model.info["train_storms_radar"] = int((train.source == "radar").sum())
        model.info["fit_splits"] = ["train", "validation"] if kind == "nhits" else ["train"]
        model.info.update(facts)
        logger.info("fitted %s (%s) in %.1f s", kind, future_rain, model.info["fit_seconds"])
        models[kind] = model
        if out is not None:
            save_forecaster(model, model_folder(shipped_name(kind, future_rain), out))
    return models
