"""Out-of-sample evaluation: a placement chosen on one ensemble, scored on fresh runs.

A placement is optimised on the training ensemble (training storms, one seed of trips
and defects, one table of violations) and then scored, unchanged, on runs it has not
seen: held-out storms of the catalogue's test split with fresh rain variability, fresh
seeds of trips and defects for the *same* vehicles, fresh truck violations. Candidates
are matched by id, so the test matrix must be built over the same candidates (same low
points, same fleet seed, same candidate edges).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from twin.placement.impact import ImpactMatrix
from twin.placement.objectives import loss, objective_data, reported, summary
from twin.placement.solvers import Placement

__all__ = ["evaluate", "out_of_sample"]

logger = logging.getLogger(__name__)


def evaluate(placement: Placement, matrix: ImpactMatrix) -> dict[str, float]:
    """Score a placement on a matrix (matched by candidate id).

    Returns
    -------
    dict
        :func:`twin.placement.objectives.summary` plus ``objective`` (the placement's
        objective as users read it) and ``matched`` (selected ids found in ``matrix``).
    """
    index = {c: i for i, c in enumerate(matrix.candidate_ids)}
    found = [index[c] for c in placement.candidate_ids if c in index]
    if len(found) < len(placement.candidate_ids):
        logger.warning(
            "%d of %d selected candidates are not in the evaluation matrix; they count as "
            "detecting nothing",
            len(placement.candidate_ids) - len(found),
            len(placement.candidate_ids),
        )
    sel = np.array(found, dtype=np.int64)
    data = objective_data(matrix, placement.objective)
    out = summary(matrix, sel)
    out["objective"] = reported(placement.objective, loss(data, sel), float(data.weight.sum()))
    out["matched"] = len(found)
    return out


def out_of_sample(
    placements: Mapping[str, Placement], train: ImpactMatrix, test: ImpactMatrix
) -> pd.DataFrame:
    """In-sample and out-of-sample scores of several placements, one row each.

    Parameters
    ----------
    placements
        Placements by label (e.g. solver name).
    train
        The matrix they were optimised on.
    test
        Fresh runs.

    Returns
    -------
    pandas.DataFrame
        Columns ``placement``, ``sample`` (``"in"``/``"out"``) and the fields of
        :func:`evaluate`.
    """
    rows = []
    for label, p in placements.items():
        for sample, matrix in (("in", train), ("out", test)):
            rows.append({"placement": label, "sample": sample, **evaluate(p, matrix)})
    return pd.DataFrame(rows)
