"""The schema of the city layers, and validation of GeoJSON features against it.

:data:`LAYER_SCHEMAS` is the one source of what each layer file must hold: its geometry
type and its properties, with their types and allowed values. The documentation
(:func:`schema_markdown`, ``data/layers/README.md``) and the validation
(:func:`validate_features`) both read it. Reading files, snapping and attaching layers
to a network live in :mod:`twin.network.layers`.

References
----------
.. [1] RFC 7946, The GeoJSON Format, https://www.rfc-editor.org/rfc/rfc7946
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.errors import InputFileNotFoundError, LayerError

if TYPE_CHECKING:  # geopandas, pandas and shapely load when a layer is read, not before
    import geopandas as gpd
    from shapely.geometry.base import BaseGeometry

__all__ = [
    "ADDED_COLUMNS",
    "DEFAULT_MAX_SNAP_M",
    "LAYER_SCHEMAS",
    "FieldSpec",
    "LayerSchema",
    "layer_frame",
    "load_features",
    "parse_hours",
    "schema_markdown",
    "validate_features",
]


#: Farthest a feature may lie from its nearest network node [m].
DEFAULT_MAX_SNAP_M = 250.0
#: Columns added by snapping: OSM id of the nearest node, and the distance to it [m].
ADDED_COLUMNS = ("node", "snap_distance_m")

_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_TYPE_WORDS = {
    "str": "a non-empty string",
    "int": "an integer",
    "float": "a finite number",
    "bool": "true or false",
    "hours": 'a time window "HH:MM-HH:MM" (may wrap past midnight)',
}


@dataclass(frozen=True)
class FieldSpec:
    """One property of a layer's features.

    Attributes
    ----------
    name
        Property name in the GeoJSON ``properties`` object.
    type
        ``"str"``, ``"int"``, ``"float"``, ``"bool"`` or ``"hours"`` (see :func:`parse_hours`).
    description
        What the value means, with its unit in brackets.
    required
        Whether every feature must carry a non-null value.
    choices
        The allowed values of an enumeration.
    minimum
        Smallest allowed value of a number.
    """

    name: str
    type: str
    description: str
    required: bool = True
    choices: tuple[str, ...] = ()
    minimum: float | None = None

    def allowed(self) -> str:
        """The allowed values, in words."""
        if self.choices:
            return "one of " + ", ".join(f'"{c}"' for c in self.choices)
        words = _TYPE_WORDS[self.type]
        return words if self.minimum is None else f"{words} ≥ {self.minimum:g}"


@dataclass(frozen=True)
class LayerSchema:
    """What one layer's GeoJSON file must hold.

    Attributes
    ----------
    name
        Layer name; the file is ``<name>.geojson``.
    geometry
        GeoJSON geometry type of every feature (``"Point"`` or ``"Polygon"``).
    description
        What the layer is.
    fields
        The properties.
    max_snap_m
        Farthest a feature (a polygon by its centroid) may lie from its nearest node [m].
    """

    name: str
    geometry: str
    description: str
    fields: tuple[FieldSpec, ...]
    max_snap_m: float = DEFAULT_MAX_SNAP_M


_ID = FieldSpec("id", "str", "Unique identifier within the layer.")
_NAME = FieldSpec("name", "str", "Human-readable name (Chinese and/or English).")
_TAIL = (
    FieldSpec(
        "illustrative",
        "bool",
        "true unless derived from real data (position or values not surveyed).",
    ),
    FieldSpec("source", "str", "How the feature was placed or derived, from what data."),
)

#: The schema of every known layer, by layer name (one source for docs and validation).
LAYER_SCHEMAS: dict[str, LayerSchema] = {
    "docks": LayerSchema(
        "docks",
        "Point",
        "Muck-loading docks (渣土码头) on the Grand Canal, where trucks tip spoil onto barges.",
        (
            _ID,
            _NAME,
            FieldSpec("berths", "int", "Tipping positions usable at once [-].", minimum=1),
            FieldSpec("unload_minutes", "float", "Time a truck holds a berth [min].", minimum=0.1),
            FieldSpec("opening_hours", "hours", "When trucks may unload [local time]."),
            *_TAIL,
        ),
    ),
    "sites": LayerSchema(
        "sites",
        "Point",
        "Construction sites producing spoil.",
        (
            _ID,
            _NAME,
            FieldSpec("spoil_m3_per_day", "float", "Spoil hauled per day [m³/d].", minimum=0),
            FieldSpec("working_hours", "hours", "When trucks load at the site [local time]."),
            *_TAIL,
        ),
    ),
    "depots": LayerSchema(
        "depots",
        "Point",
        "Crew depots: street offices (街道办) from which grid workers and crews set out.",
        (_ID, _NAME, FieldSpec("street", "str", "The street (街道) served."), *_TAIL),
    ),
    "plazas": LayerSchema(
        "plazas",
        "Polygon",
        "Station plazas and public squares whose crowd density is watched.",
        (
            _ID,
            _NAME,
            FieldSpec("kind", "str", "Kind of plaza.", choices=("station_plaza", "square")),
            FieldSpec("area_m2", "float", "Area used for crowd density [m²].", minimum=1),
            *_TAIL,
        ),
    ),
    "low_points": LayerSchema(
        "low_points",
        "Point",
        "Flood-prone low points: underpasses, road sections and intersections.",
        (
            _ID,
            _NAME,
            FieldSpec(
                "kind",
                "str",
                "Kind of low point.",
                choices=("underpass", "road_section", "intersection"),
            ),
            FieldSpec(
                "origin",
                "str",
                "tunnel_edge: derived from OSM tunnel edges; dem: the lowest road node of a "
                "DEM sink (--dem); user: a user list.",
                choices=("tunnel_edge", "dem", "user"),
            ),
            *_TAIL,
            FieldSpec(
                "tunnel_length_m",
                "float",
                "Underpass length: half the summed length of its directed tunnel edges [m].",
                required=False,
                minimum=0,
            ),
            FieldSpec(
                "tunnel_edges",
                "int",
                "Directed tunnel edges grouped into the underpass [-].",
                required=False,
                minimum=1,
            ),
            FieldSpec(
                "sink_depth_m",
                "float",
                "DEM sink: largest filled DEM − DEM in the sink [m].",
                required=False,
                minimum=0,
            ),
            FieldSpec(
                "sink_area_m2",
                "float",
                "DEM sink: area of its cells [m²].",
                required=False,
                minimum=0,
            ),
            FieldSpec(
                "road_class",
                "str",
                "Class of the longest tunnel edge.",
                required=False,
                choices=("arterial", "collector", "local"),
            ),
        ),
    ),
    "stations": LayerSchema(
        "stations",
        "Point",
        "Metro and rail stations and their entrances, where crowds arrive and leave.",
        (
            _ID,
            _NAME,
            FieldSpec(
                "kind",
                "str",
                "Kind of feature.",
                choices=("metro_station", "rail_station", "entrance"),
            ),
            *_TAIL,
            FieldSpec(
                "station", "str", "Name of the station an entrance belongs to.", required=False
            ),
        ),
    ),
}

#: Files read as another layer: the user list of low points.
_ALIASES = {"low_points_user": "low_points"}


# ---------------------------------------------------------------------------- validation


def parse_hours(text: str) -> tuple[float, float]:
    """Parse a time window ``"HH:MM-HH:MM"`` (``"24:00"`` allowed as an end).

    Parameters
    ----------
    text
        Start and end in local time; an end before the start wraps past midnight
        (``"20:00-06:00"``); ``"00:00-24:00"`` is all day.

    Returns
    -------
    tuple of float
        Start and end [h], each in [0, 24].

    Raises
    ------
    ValueError
        If the text is not such a window, or it is empty (start equals end).
    """
    m = _HOURS.match(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f'{text!r} is not a time window "HH:MM-HH:MM"')
    h0, m0, h1, m1 = (int(g) for g in m.groups())
    if h0 > 23 or m0 > 59 or m1 > 59 or h1 > 24 or (h1 == 24 and m1 > 0):
        raise ValueError(f"{text!r} holds an impossible time")
    start, end = h0 + m0 / 60.0, h1 + m1 / 60.0
    if start == end:
        raise ValueError(f"{text!r} is empty (start equals end); use 00:00-24:00 for all day")
    return start, end


def _check_value(spec: FieldSpec, value: Any) -> Any:
    """The value, normalised; ``ValueError`` saying what is allowed if it is wrong."""
    bad = ValueError(
        f"property {spec.name!r} must be {spec.allowed()}, got {value!r} ({type(value).__name__})"
    )
    if spec.type in ("str", "hours"):
        if (
            not isinstance(value, str)
            or not value.strip()
            or (spec.choices and value not in spec.choices)
        ):
            raise bad
        if spec.type == "hours":
            try:
                parse_hours(value)
            except ValueError as exc:
                raise ValueError(f"property {spec.name!r}: {exc}") from None
        return value
    if spec.type == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad
    if spec.type == "int" and isinstance(value, float) and not value.is_integer():
        raise bad
    number = int(value) if spec.type == "int" else float(value)
    if spec.minimum is not None and number < spec.minimum:
        raise bad
    return number


def _check_geometry(schema: LayerSchema, where: str, raw: Any) -> BaseGeometry:
    """The shapely geometry of a feature; :class:`LayerError` if of the wrong kind."""
    import shapely
    from shapely.geometry import shape

    if not isinstance(raw, dict) or raw.get("type") != schema.geometry:
        got = raw.get("type") if isinstance(raw, dict) else repr(raw)
        raise LayerError(
            f"{where}: geometry must be a GeoJSON {schema.geometry} in layer "
            f"{schema.name!r}, got {got}."
        )
    try:
        geom = shape(raw)
        xy = shapely.get_coordinates(geom)
    except (
        ValueError,
        TypeError,
        AttributeError,
        KeyError,
        IndexError,
        shapely.errors.GEOSException,
    ) as exc:
        raise LayerError(f"{where}: malformed {schema.geometry} coordinates ({exc}).") from exc
    if geom.is_empty or not np.all(np.isfinite(xy)):
        raise LayerError(f"{where}: the {schema.geometry} is empty or has non-finite coordinates.")
    if np.any(np.abs(xy[:, 0]) > 180) or np.any(np.abs(xy[:, 1]) > 90):
        raise LayerError(f"{where}: coordinates are not WGS84 lon/lat (|lon| ≤ 180, |lat| ≤ 90).")
    if schema.geometry == "Polygon" and (not geom.is_valid or geom.area <= 0):
        raise LayerError(f"{where}: the Polygon is invalid ({shapely.is_valid_reason(geom)}).")
    return geom


def load_features(path: Path) -> list[Any]:
    """The features of a GeoJSON FeatureCollection file (WGS84), not yet validated.

    Raises
    ------
    InputFileNotFoundError
        If the file does not exist.
    LayerError
        If it is not JSON, not a FeatureCollection, or declares a CRS other than WGS84.
    """
    if not path.exists():
        raise InputFileNotFoundError(f"{path}: no such layer file (GeoJSON expected).")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LayerError(f"{path}: not GeoJSON: the file is not valid JSON text ({exc}).") from exc
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection":
        got = obj.get("type") if isinstance(obj, dict) else type(obj).__name__
        raise LayerError(f"{path}: not a GeoJSON FeatureCollection (type {got!r}).")
    crs = json.dumps(obj.get("crs", "CRS84"))
    if "CRS84" not in crs and "4326" not in crs:
        raise LayerError(f"{path}: CRS {crs} is not WGS84; reproject to lon/lat (EPSG:4326).")
    features = obj.get("features")
    if not isinstance(features, list):
        raise LayerError(f"{path}: 'features' must be a list of GeoJSON Features.")
    return features


def _check_properties(schema: LayerSchema, where: str, feature: Any) -> dict[str, Any]:
    """The validated properties of a feature (extras kept, snapping columns dropped)."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise LayerError(f"{where}: not a GeoJSON Feature (an object with type 'Feature').")
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise LayerError(f"{where}: 'properties' must be an object (with 'id', 'name', ...).")
    row = {k: v for k, v in props.items() if k not in ADDED_COLUMNS}
    for spec in schema.fields:
        value = props.get(spec.name)
        if value is None:
            if spec.required:
                raise LayerError(
                    f"{where}: missing required property {spec.name!r} ({spec.description} "
                    f"Must be {spec.allowed()}.)"
                )
            continue
        try:
            row[spec.name] = _check_value(spec, value)
        except ValueError as exc:
            raise LayerError(f"{where}: {exc}.") from None
    return row


def validate_features(
    features: list[Any], *, layer: str, path: str | Path
) -> tuple[list[dict[str, Any]], list[BaseGeometry]]:
    """Check GeoJSON features against a layer's schema.

    Parameters
    ----------
    features
        The ``features`` list of a FeatureCollection (see :func:`load_features`).
    layer
        Layer name in :data:`LAYER_SCHEMAS`.
    path
        The file they come from, named in error messages.

    Returns
    -------
    rows : list of dict
        The properties of each feature, numbers normalised to ``int`` / ``float``.
    geoms : list of shapely geometry
        The geometry of each feature, WGS84.

    Raises
    ------
    LayerError
        On the first feature that breaks the schema: a missing or mistyped property, a
        value not allowed, a wrong or malformed geometry, or a duplicate id. The message
        names the file, the feature (index and id) and the field, and what is allowed.
    """
    schema = LAYER_SCHEMAS[layer]
    rows: list[dict[str, Any]] = []
    geoms: list[BaseGeometry] = []
    seen: dict[str, int] = {}
    for i, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        fid = props.get("id") if isinstance(props, dict) else None
        where = f"{path}: feature #{i}" + (f" (id {fid!r})" if fid is not None else "")
        row = _check_properties(schema, where, feature)
        if row["id"] in seen:
            raise LayerError(
                f"{where}: duplicate id {row['id']!r} (also feature #{seen[row['id']]}); "
                "ids must be unique within a layer."
            )
        seen[row["id"]] = i
        geoms.append(_check_geometry(schema, where, feature.get("geometry")))
        rows.append(row)
    return rows, geoms


def layer_frame(
    layer: str, rows: list[dict[str, Any]], geoms: Sequence[BaseGeometry]
) -> gpd.GeoDataFrame:
    """A GeoDataFrame (EPSG:4326) of a layer's features.

    Parameters
    ----------
    layer
        Layer name in :data:`LAYER_SCHEMAS`.
    rows
        Properties of each feature.
    geoms
        Geometry of each feature, WGS84.

    Returns
    -------
    geopandas.GeoDataFrame
        The schema's properties in schema order (missing optional ones null; integers
        as nullable ``Int64``), then any extra properties, then ``geometry``.
    """
    import geopandas as gpd
    import pandas as pd

    cols: dict[str, Any] = {}
    specs = {s.name: s for s in LAYER_SCHEMAS[layer].fields}
    extras = dict.fromkeys(k for r in rows for k in r if k not in specs)
    for name in [*specs, *extras]:
        values = [r.get(name) for r in rows]
        kind = specs[name].type if name in specs else "other"
        if kind == "int":
            cols[name] = pd.array(values, dtype="Int64")
        elif kind == "float":
            cols[name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        elif kind == "bool" and specs[name].required:
            cols[name] = np.array(values, dtype=bool)
        else:
            cols[name] = pd.Series(values, dtype=object)
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs="EPSG:4326")


def schema_markdown(layer: str) -> str:
    """A Markdown description of one layer's schema (as in ``data/layers/README.md``).

    Parameters
    ----------
    layer
        Layer name in :data:`LAYER_SCHEMAS`.

    Returns
    -------
    str
        A line naming the geometry type and snapping tolerance, then a table of the
        properties.
    """
    s = LAYER_SCHEMAS[layer]
    out = [
        f"`{layer}.geojson`: {s.description} Geometry: **{s.geometry}**; must snap to a "
        f"network node within {s.max_snap_m:g} m.",
        "",
        "| property | type | required | allowed | meaning |",
        "|---|---|---|---|---|",
    ]
    for f in s.fields:
        req = "yes" if f.required else "no"
        out.append(f"| `{f.name}` | {f.type} | {req} | {f.allowed()} | {f.description} |")
    return "\n".join(out)
