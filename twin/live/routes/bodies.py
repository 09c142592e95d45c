"""The request bodies of the ingest endpoints, as OpenAPI 3.1 (``openapi_extra``).

``POST /readings``, ``/radar`` and ``/nowcasts`` read their bodies themselves (JSON or
CSV, raw or multipart NetCDF; see :mod:`twin.live.ingest` and
:mod:`twin.live.radar_files`), so FastAPI cannot infer them: these declarations put
them in ``/openapi.json``, for clients, the interactive docs and schema-based fuzzing.
"""

from __future__ import annotations

from typing import Any

from twin.live.sensors import KINDS

__all__ = ["NETCDF_BODY", "READINGS_BODY"]

_TIME: dict[str, Any] = {
    "description": "ISO 8601 with a UTC offset, or seconds since 1970-01-01 UTC "
    "(years 1–9999; milliseconds are refused)",
    "anyOf": [
        {"type": "string", "format": "date-time", "example": "2024-06-15T08:05:00+08:00"},
        {"type": "number", "example": 1718409900},
    ],
}
_VALUE: dict[str, Any] = {
    "description": "water level [m], rain rate [mm/h] or crowd count [persons]",
    "anyOf": [{"type": "number"}, {"type": "string"}],
}
_ROW: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sensor": {"type": "string", "example": "wl-lp-tunnel-001"},
        "time": _TIME,
        "value": _VALUE,
        "kind": {"type": "string", "enum": list(KINDS)},
    },
    "required": ["sensor", "time", "value"],
}
_COLUMNS: dict[str, Any] = {
    "type": "object",
    "description": "columnar form: lists of equal length",
    "properties": {
        "sensor": {"type": "array", "items": {"type": "string"}},
        "time": {"type": "array", "items": _TIME},
        "value": {"type": "array", "items": _VALUE},
        "kind": {"type": "array", "items": {"type": "string", "enum": list(KINDS)}},
    },
    "required": ["sensor", "time", "value"],
}

#: ``POST /readings``: JSON (three forms) or CSV with a ``sensor,time,value`` header.
READINGS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A batch of readings; each row is checked on its own and every bad "
        "row comes back with its reason.",
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {
                            "type": "object",
                            "properties": {"readings": {"type": "array", "items": _ROW}},
                            "required": ["readings"],
                        },
                        {"type": "array", "items": _ROW},
                        _COLUMNS,
                    ]
                }
            },
            "text/csv": {
                "schema": {
                    "type": "string",
                    "example": "sensor,time,value\n"
                    "wl-lp-tunnel-001,2024-06-15T08:05:00+08:00,0.012\n",
                }
            },
        },
    }
}

_FILE: dict[str, Any] = {"type": "string", "format": "binary"}

#: ``POST /radar`` and ``POST /nowcasts``: a CF NetCDF file, raw or as a form's ``file``.
NETCDF_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A CF NetCDF file (classic or NetCDF-4).",
        "content": {
            "application/x-netcdf": {"schema": _FILE},
            "application/octet-stream": {"schema": _FILE},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": _FILE},
                    "required": ["file"],
                }
            },
        },
    }
}
