"""The physics-ensemble forecaster as a model folder: its settings and the points' drains.

A folder (``models/waterlogging-physics-ensemble`` is the shipped one) holds

- ``settings.json``: ``{"kind": "physics_ensemble", "format": 1, "settings": {...}}``
  (:class:`twin.forecast.physics.EnsembleSettings`);
- ``catchments.csv``: the **nominal** catchment parameters of every low point it knows,
  one row per point (column ``id``, then every field of
  :class:`twin.hydro.reservoir.CatchmentParams`), as derived from the road network by
  :func:`twin.hydro.lowpoints.low_points`. That is what the forecaster is told; the real
  drains differ (``hydro.truth``) and are learnt from the gauges.

So a service (``twin live``) can run the ensemble without building the network. Write a
folder for another district's points with :func:`save_physics_model`, or refresh the
shipped one with ``python -m twin.forecast.physics_model`` (values written with 17
significant digits: read back bit for bit).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.forecast.base import QUANTILES
from twin.forecast.errors import ForecastError, ModelFileError
from twin.forecast.physics import EnsembleSettings, PhysicsEnsemble
from twin.forecast.windows import ENCODER_STEPS, HORIZON_STEPS
from twin.hydro.reservoir import CatchmentParams

if TYPE_CHECKING:
    from twin.forecast.band_methods import BandMethod
    from twin.forecast.conformal import ConformalCalibrator

__all__ = [
    "KIND",
    "PhysicsModel",
    "is_physics_model",
    "load_physics_model",
    "save_physics_model",
    "shipped_physics_folder",
]

#: The ``kind`` of a physics-ensemble model folder.
KIND = "physics_ensemble"
_FORMAT = 1
_SETTINGS = "settings.json"
_CATCHMENTS = "catchments.csv"
_PARAM_FIELDS = tuple(f.name for f in fields(CatchmentParams))


@dataclass(frozen=True)
class PhysicsModel:
    """The physics ensemble's settings and the nominal drains of the points it knows.

    Attributes
    ----------
    settings
        Ensemble size, prior and filter settings.
    ids
        Low-point ids, in the order of ``params``' columns.
    params
        Nominal catchment parameters (what the forecaster is told).
    calibrator
        Conformal corrections of its bands (``conformal.json``/``.npz`` in the folder,
        :mod:`twin.forecast.physics_calibration`); None: raw ensemble quantiles.
    band_method
        How a service steers those bands online (chosen with them on validation storms).
    """

    settings: EnsembleSettings
    ids: tuple[str, ...]
    params: CatchmentParams

    kind: str = KIND
    #: Lead steps of a forecast (5 min each) and readings looked back on.
    horizon: int = HORIZON_STEPS
    encoder: int = ENCODER_STEPS
    quantiles: tuple[float, ...] = QUANTILES
    calibrator: ConformalCalibrator | None = field(default=None, compare=False, repr=False)
    band_method: BandMethod | None = field(default=None, compare=False, repr=False)

    def subset(self, ids: Sequence[str]) -> PhysicsModel:
        """The model of some of its points, in the order of ``ids``.

        Raises
        ------
        ForecastError
            An id the model does not know (named).
        """
        pos = {p: i for i, p in enumerate(self.ids)}
        unknown = [p for p in ids if p not in pos]
        if unknown:
            raise ForecastError(
                f"the physics-ensemble model has no catchment for {len(unknown)} low point(s) "
                f"({', '.join(unknown[:5])}); write a model folder for these points "
                "(twin.forecast.physics_model.save_physics_model)"
            )
        idx = np.array([pos[p] for p in ids], dtype=np.int64)
        p = self.params
        sub = CatchmentParams(**{k: np.asarray(getattr(p, k))[idx] for k in _PARAM_FIELDS})
        return PhysicsModel(
            self.settings, tuple(ids), sub, calibrator=self.calibrator,
            band_method=self.band_method,
        )  # fmt: skip

    def ensemble(self, seed: int) -> PhysicsEnsemble:
        """A new ensemble from the prior."""
        return PhysicsEnsemble(self.params, self.settings, seed=seed)


def shipped_physics_folder() -> Path:
    """``models/waterlogging-physics-ensemble`` of the repository."""
    return Path(__file__).resolve().parents[2] / "models" / "waterlogging-physics-ensemble"


def is_physics_model(folder: str | Path) -> bool:
    """Whether ``folder`` holds a physics-ensemble model (its ``settings.json`` says so)."""
    path = Path(folder) / _SETTINGS
    if not path.is_file():
        return False
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("kind") == KIND)
    except (OSError, ValueError, AttributeError):
        return False


def save_physics_model(
    folder: str | Path,
    ids: Sequence[str],
    params: CatchmentParams,
    settings: EnsembleSettings | None = None,
) -> Path:
    """Write ``settings.json`` and ``catchments.csv`` into ``folder`` (created)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    s = settings or EnsembleSettings()
    doc = {"kind": KIND, "format": _FORMAT, "settings": asdict(s)}
    (out / _SETTINGS).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    cols = [np.asarray(getattr(params, k), dtype=np.float64) for k in _PARAM_FIELDS]
    if any(c.shape != (len(ids),) for c in cols):
        raise ForecastError(f"params do not have one value per point ({len(ids)} ids)")
    with (out / _CATCHMENTS).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", *_PARAM_FIELDS])
        for j, pid in enumerate(ids):
            w.writerow([pid, *(repr(float(c[j])) for c in cols)])
    return out


def load_physics_model(folder: str | Path | None = None) -> PhysicsModel:
    """Read a physics-ensemble model folder (default: the shipped one).

    With its conformal calibration where the folder has one
    (:func:`twin.forecast.physics_calibration.read_calibrator`).

    Raises
    ------
    ModelFileError
        A missing or unreadable file, another kind of model, an unknown setting or a
        bad catchment row (with the file and line).
    """
    where = Path(folder) if folder is not None else shipped_physics_folder()
    sp, cp = where / _SETTINGS, where / _CATCHMENTS
    for p in (sp, cp):
        if not p.is_file():
            raise ModelFileError(
                f"{p} is missing: a physics-ensemble model folder holds {_SETTINGS} and "
                f"{_CATCHMENTS} (write one with twin.forecast.physics_model.save_physics_model)"
            )
    settings = _read_settings(sp)
    ids, rows = _read_catchments(cp)
    params = CatchmentParams(
        **{k: np.array([r[i] for r in rows]) for i, k in enumerate(_PARAM_FIELDS)}
    )
    from twin.forecast.physics_calibration import read_calibrator

    cal, online = read_calibrator(where) or (None, None)
    return PhysicsModel(settings, tuple(ids), params, calibrator=cal, band_method=online)


def _read_settings(sp: Path) -> EnsembleSettings:
    try:
        doc = json.loads(sp.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{sp}: not readable JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise ModelFileError(f"{sp}: kind is not {KIND!r}")
    known = {f.name for f in fields(EnsembleSettings)}
    raw: Any = doc.get("settings", {})
    if not isinstance(raw, dict) or set(raw) - known:
        bad = sorted(set(raw) - known) if isinstance(raw, dict) else raw
        raise ModelFileError(f"{sp}: unknown settings {bad}; known: {', '.join(sorted(known))}")
    try:
        settings = EnsembleSettings(**raw)
    except TypeError as exc:
        raise ModelFileError(f"{sp}: {exc}") from None
    return settings


def _read_catchments(path: Path) -> tuple[list[str], list[list[float]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        if header != ["id", *_PARAM_FIELDS]:
            raise ModelFileError(
                f"{path}: the header must be id,{','.join(_PARAM_FIELDS)} (got {','.join(header)})"
            )
        ids: list[str] = []
        rows: list[list[float]] = []
        for line, row in enumerate(reader, start=2):
            try:
                vals = [float(v) for v in row[1:]]
            except ValueError:
                raise ModelFileError(f"{path}, line {line}: a value is not a number") from None
            if len(vals) != len(_PARAM_FIELDS) or not all(np.isfinite(vals)):
                raise ModelFileError(
                    f"{path}, line {line}: give {len(_PARAM_FIELDS)} finite values"
                )
            ids.append(row[0])
            rows.append(vals)
    if not ids:
        raise ModelFileError(f"{path}: no low point")
    if len(set(ids)) != len(ids):
        raise ModelFileError(f"{path}: a low-point id appears twice")
    return ids, rows


def main(argv: Sequence[str] | None = None) -> int:
    """Refresh the shipped folder's catchments from the default Gongshu network."""
    from twin.hydro.lowpoints import low_points
    from twin.network import default_network

    args = list(sys.argv[1:] if argv is None else argv)
    folder = Path(args[0]) if args else shipped_physics_folder()
    pts = low_points(default_network())
    current = _read_settings(folder / _SETTINGS) if is_physics_model(folder) else None
    save_physics_model(folder, [str(p) for p in pts.ids], pts.params, current)
    sys.stdout.write(f"wrote {folder / _CATCHMENTS} ({len(pts)} low points)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
