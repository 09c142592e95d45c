"""The sensor registry and the low points the service watches.

The service accepts readings only from sensors it knows; everything else is reported
back as a rejected row. Three kinds:

``water_level``
    Depth of standing water above the road surface [m] at a low point (an ultrasonic
    or radar gauge, like Wanzhi's 18 flood-point detectors). By default one per low
    point, id ``wl-<low point id>``.
``rain_gauge``
    Rain rate over the interval ending at the reading's time [mm/h], at a position;
    every low point reads its nearest gauge. By default one district gauge
    ``rg-gongshu`` (illustrative position).
``crowd_counter``
    Persons counted in a plaza [persons]; by default one per plaza of the plazas
    layer, id ``cc-<plaza id>``. Stored and served; the waterlogging forecasts do not
    use them.

The low points come from the shipped layer ``data/layers/low_points.geojson`` (the same
53 points as :func:`twin.hydro.lowpoints.low_points` on the default network; reading
the layer needs no network build, so the service starts in seconds).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twin._types import IntArray
from twin.alerts import AlertPoints
from twin.live.config import SensorsConfig, SensorSpec
from twin.live.errors import LiveError

__all__ = [
    "KINDS",
    "SensorRegistry",
    "build_registry",
    "load_alert_points",
    "load_plaza_ids",
]

#: Sensor kinds, in the order of their integer codes.
KINDS: tuple[str, ...] = ("water_level", "rain_gauge", "crowd_counter")
WATER_LEVEL, RAIN_GAUGE, CROWD_COUNTER = 0, 1, 2


def _layer_path(spec: str, name: str) -> Path:
    if spec == "default":
        from twin.network.build import data_dir

        return data_dir() / "layers" / f"{name}.geojson"
    return Path(spec)


def _features(path: Path, what: str) -> list[dict[str, Any]]:
    if not path.is_file():
        raise LiveError(
            f"{path}: no such {what} layer; give a GeoJSON file or 'default' (the shipped "
            f"data/layers/{what}.geojson)."
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LiveError(f"{path}: not valid GeoJSON ({exc}).") from None
    feats = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(feats, list) or not feats:
        raise LiveError(f"{path}: a GeoJSON FeatureCollection with at least one feature needed.")
    return feats


def load_alert_points(spec: str = "default") -> AlertPoints:
    """The low points as alert areas, from a low-point layer.

    Parameters
    ----------
    spec
        ``"default"`` (``data/layers/low_points.geojson``) or a GeoJSON path whose
        point features carry ``id``, ``name`` and ``kind`` (underpass, intersection,
        road_section).

    Returns
    -------
    AlertPoints
        Ids, names, positions [deg] and the CAP circle radius [m] by kind of point.
    """
    from twin.hydro.lowpoints import LOW_POINT_DEFAULTS

    path = _layer_path(spec, "low_points")
    ids, names, lon, lat, radius = [], [], [], [], []
    for i, feat in enumerate(_features(path, "low_points")):
        props = feat.get("properties") or {}
        geom = feat.get("geometry") or {}
        kind = str(props.get("kind", ""))
        if kind not in LOW_POINT_DEFAULTS:
            raise LiveError(
                f"{path}: feature {i} ({props.get('id')}): kind {kind!r}; use one of "
                f"{', '.join(LOW_POINT_DEFAULTS)}."
            )
        if geom.get("type") != "Point" or not props.get("id"):
            raise LiveError(f"{path}: feature {i} needs an id and a Point geometry.")
        ids.append(str(props["id"]))
        names.append(str(props.get("name") or props["id"]))
        lon.append(float(geom["coordinates"][0]))
        lat.append(float(geom["coordinates"][1]))
        radius.append(float(LOW_POINT_DEFAULTS[kind]["affect_radius"]))
    if len(set(ids)) != len(ids):
        raise LiveError(f"{path}: low-point ids must be unique.")
    return AlertPoints(
        ids=np.array(ids, dtype=str),
        names=np.array(names, dtype=str),
        lon=np.array(lon, dtype=np.float64),
        lat=np.array(lat, dtype=np.float64),
        radius_m=np.array(radius, dtype=np.float64),
    )


def load_plaza_ids(spec: str = "default") -> list[str]:
    """Ids of the plazas of a plaza layer (``"default"``: the shipped one)."""
    path = _layer_path(spec, "plazas")
    return [str((f.get("properties") or {}).get("id")) for f in _features(path, "plazas")]


@dataclass(frozen=True)
class SensorRegistry:
    """The sensors the service accepts, and which ones feed each low point.

    Attributes
    ----------
    ids, kinds, points
        Per sensor: id, kind code (0 water level, 1 rain gauge, 2 crowd counter; see
        :data:`KINDS`) and the low point or plaza it watches (None for rain gauges).
    index
        Sensor id → position.
    level_of_point
        Per alert point: position of its water-level gauge, or -1 if it has none.
    rain_of_point
        Per alert point: position of its (nearest) rain gauge, or -1 if there is none.
    """

    ids: tuple[str, ...]
    kinds: IntArray
    points: tuple[str | None, ...]
    index: dict[str, int]
    level_of_point: IntArray
    rain_of_point: IntArray

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def forecast_sensors(self) -> list[str]:
        """Ids of the sensors the forecasts read (water level and rain)."""
        return [s for s, k in zip(self.ids, self.kinds.tolist(), strict=True) if k != CROWD_COUNTER]

    def describe(self) -> list[dict[str, Any]]:
        """One JSON-able record per sensor."""
        return [
            {"id": s, "kind": KINDS[k], "point": p}
            for s, k, p in zip(self.ids, self.kinds.tolist(), self.points, strict=True)
        ]


def build_registry(
    config: SensorsConfig, points: AlertPoints, plazas: Sequence[str]
) -> SensorRegistry:
    """The registry of a config: the automatic sensors, the rain gauges and the extras.

    Raises
    ------
    LiveError
        A repeated sensor id, a sensor watching an unknown low point or plaza, or two
        water-level gauges on one low point; the message names the sensor.
    """
    point_ids = [str(p) for p in points.ids.tolist()]
    specs: list[tuple[str, SensorSpec]] = []
    if config.auto_water_level:
        specs += [
            ("auto", SensorSpec(id=f"wl-{p}", kind="water_level", point=p)) for p in point_ids
        ]
    if config.auto_crowd_counters:
        specs += [("auto", SensorSpec(id=f"cc-{p}", kind="crowd_counter", point=p)) for p in plazas]
    specs += [(f"sensors.rain_gauges[{i}]", s) for i, s in enumerate(config.rain_gauges)]
    specs += [(f"sensors.extra[{i}]", s) for i, s in enumerate(config.extra)]
    known_points, known_plazas = set(point_ids), set(plazas)
    index: dict[str, int] = {}
    level_of_point = np.full(len(point_ids), -1, dtype=np.int64)
    pos_of_point = {p: i for i, p in enumerate(point_ids)}
    for where, s in specs:
        if s.id in index:
            raise LiveError(
                f"{where}: sensor id {s.id!r} is used twice (automatic sensors are "
                "wl-<low point> and cc-<plaza>); rename it or turn the automatic ones off."
            )
        if s.kind == "water_level":
            if s.point not in known_points:
                raise LiveError(
                    f"{where} ({s.id}): point {s.point!r} is not a low point; known: "
                    f"{', '.join(point_ids[:4])}, … ({len(point_ids)} points)."
                )
            j = pos_of_point[str(s.point)]
            if level_of_point[j] >= 0:
                raise LiveError(
                    f"{where} ({s.id}): low point {s.point} already has a water-level gauge "
                    f"({specs[int(level_of_point[j])][1].id}); one gauge per point."
                )
            level_of_point[j] = len(index)
        if s.kind == "crowd_counter" and s.point not in known_plazas:
            raise LiveError(
                f"{where} ({s.id}): plaza {s.point!r} is unknown; known: "
                f"{', '.join(sorted(known_plazas))}."
            )
        index[s.id] = len(index)
    ordered = [s for _, s in specs]
    kinds = np.array([KINDS.index(s.kind) for s in ordered], dtype=np.int64)
    rain = [i for i, s in enumerate(ordered) if s.kind == "rain_gauge"]
    rain_of_point = np.full(len(point_ids), -1, dtype=np.int64)
    if rain:
        glon = np.array([ordered[i].lon for i in rain], dtype=np.float64)
        glat = np.array([ordered[i].lat for i in rain], dtype=np.float64)
        # Equirectangular distance: enough to pick the nearest gauge within a city.
        dx = (points.lon[:, None] - glon[None, :]) * np.cos(np.radians(points.lat))[:, None]
        dy = points.lat[:, None] - glat[None, :]
        rain_of_point = np.asarray(rain, dtype=np.int64)[np.argmin(dx * dx + dy * dy, axis=1)]
    return SensorRegistry(
        ids=tuple(s.id for s in ordered),
        kinds=kinds,
        points=tuple(s.point for s in ordered),
        index=index,
        level_of_point=level_of_point,
        rain_of_point=rain_of_point,
    )
