"""Fruin's levels of service (A–F) for walkways and queuing areas, from crowd density.

Fruin grades pedestrian space by the area available to each person (the *area
module*, ft² a person). His thresholds, the lower bound of each level's area module:

=====  ===================  ====================  ==================  ===================
level  walkway [ft²/p]      walkway [persons/m²]  queuing [ft²/p]     queuing [persons/m²]
=====  ===================  ====================  ==================  ===================
A      ≥ 35                 ≤ 0.308               ≥ 13                ≤ 0.828
B      25–35                0.308–0.431           10–13               0.828–1.076
C      15–25                0.431–0.718           7–10                1.076–1.538
D      10–15                0.718–1.076           3–7                 1.538–3.588
E      5–10                 1.076–2.153           2–3                 3.588–5.382
F      < 5                  > 2.153               < 2                 > 5.382
=====  ===================  ====================  ==================  ===================

Densities are the reciprocals of the area modules (1 ft² = 0.09290304 m²). A density
exactly on a boundary belongs to the better level (its area module meets the bound).
Walkway levels suit people on the move (a station plaza's through-flow); queuing levels
suit people standing or waiting (an event crowd, a queue at an exit).

References
----------
.. [1] J. J. Fruin, *Pedestrian Planning and Design*, Metropolitan Association of Urban
   Designers and Environmental Planners, New York, 1971 (walkway and queuing levels of
   service).
.. [2] Transportation Research Board, *Transit Capacity and Quality of Service Manual*,
   3rd ed., TCRP Report 165, 2013, ch. 10 (Fruin's levels for walkways and queuing areas).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from twin._types import FloatArray, StrArray

__all__ = [
    "FT2",
    "LEVELS",
    "QUEUING_FT2",
    "WALKWAY_FT2",
    "density_threshold",
    "level_of_service",
    "los_index",
    "los_thresholds",
]

#: Levels of service, best first.
LEVELS = ("A", "B", "C", "D", "E", "F")
#: One square foot [m²].
FT2 = 0.09290304
#: Fruin walkway levels: least area module of A … E [ft²/person] (F below E's).
WALKWAY_FT2 = (35.0, 25.0, 15.0, 10.0, 5.0)
#: Fruin queuing levels: least area module of A … E [ft²/person].
QUEUING_FT2 = (13.0, 10.0, 7.0, 3.0, 2.0)

Table = Literal["walkway", "queuing"]


def los_thresholds(table: Table = "walkway") -> FloatArray:
    """Upper density bounds of levels A … E [persons/m²] (F is above the last).

    Parameters
    ----------
    table
        ``"walkway"`` or ``"queuing"``.

    Returns
    -------
    ndarray
        Five increasing densities.
    """
    if table == "walkway":
        ft2 = WALKWAY_FT2
    elif table == "queuing":
        ft2 = QUEUING_FT2
    else:
        raise ValueError(f"unknown level-of-service table {table!r}; use 'walkway' or 'queuing'")
    return 1.0 / (np.asarray(ft2, dtype=np.float64) * FT2)


def los_index(density: npt.ArrayLike, table: Table = "walkway") -> npt.NDArray[np.int8]:
    """Level of service as an index, 0 (A) … 5 (F), of each density [persons/m²]."""
    rho = np.asarray(density, dtype=np.float64)
    idx = np.searchsorted(los_thresholds(table), rho, side="left")
    return np.asarray(idx, dtype=np.int8)


def level_of_service(density: npt.ArrayLike, table: Table = "walkway") -> StrArray:
    """Fruin level of service, ``"A"`` … ``"F"``, of each density.

    Parameters
    ----------
    density
        Crowd density [persons/m²].
    table
        ``"walkway"`` (people walking) or ``"queuing"`` (people standing, waiting).

    Returns
    -------
    ndarray of str
        One letter per density, the same shape.
    """
    return np.asarray(LEVELS, dtype="<U1")[los_index(density, table)]


def density_threshold(level: str, table: Table = "walkway") -> float:
    """Density above which a level of service begins [persons/m²].

    Parameters
    ----------
    level
        ``"B"`` … ``"F"``.
    table
        ``"walkway"`` or ``"queuing"``.

    Returns
    -------
    float
        The upper bound of the level before it: a density above it is at ``level`` or
        worse.
    """
    if level not in LEVELS[1:]:
        raise ValueError(
            f"level must be one of B, C, D, E, F (A has no lower bound), got {level!r}"
        )
    return float(los_thresholds(table)[LEVELS.index(level) - 1])
