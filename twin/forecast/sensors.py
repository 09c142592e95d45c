r"""A water-level sensor model: what a road gauge reports, given the true water depth.

Forecasters never see the physics' depth: they see the readings of a level gauge at each
low point (an ultrasonic or radar gauge above the road, like Wanzhi's 18 flood-point
detectors). A reading at step ``k`` of a storm is

.. math::

    \tilde h_k = \max\bigl(0,\; h_k + b + r\,t_k + \varepsilon_k\bigr), \qquad
    \varepsilon_k \sim \mathcal N(0, \sigma^2)

with :math:`h_k` the true depth [m], :math:`b \sim \mathcal N(0, \sigma_b^2)` a
calibration offset and :math:`r \sim \mathcal N(0, \sigma_r^2)` a drift rate, drawn
once per storm and point, :math:`t_k` the time since the storm record began [d], and
:math:`\varepsilon_k` white noise. The gauge reports no negative depth (the firmware
clips at the road surface). Readings go missing (NaN) independently with probability
``gap_prob`` per step, and in outages that start with probability ``outage_prob`` per
step and last a geometric number of steps of mean ``outage_mean_steps`` (lost telemetry,
a flat battery).

**All default values are illustrative**, of the order quoted for low-cost ultrasonic
level sensors (a few mm of noise, centimetre calibration error) and for IoT telemetry
(a percent or so of lost packets); they are not measurements of any Gongshu device.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from twin._types import FloatArray

__all__ = ["SensorModel", "sensor_readings"]


class SensorModel(BaseModel):
    """Noise, drift and gaps of a water-level gauge (illustrative defaults).

    Attributes
    ----------
    noise_sd
        Standard deviation of the white reading noise ``σ`` [m].
    offset_sd
        Standard deviation of the calibration offset ``σ_b`` per storm and point [m].
    drift_sd
        Standard deviation of the drift rate ``σ_r`` per storm and point [m/d].
    gap_prob
        Probability that one reading is missing [-].
    outage_prob
        Probability that an outage starts at a step [-].
    outage_mean_steps
        Mean length of an outage [steps].
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    noise_sd: float = Field(default=0.005, ge=0.0, description="white noise [m]")
    offset_sd: float = Field(default=0.01, ge=0.0, description="calibration offset [m]")
    drift_sd: float = Field(default=0.02, ge=0.0, description="drift rate [m/d]")
    gap_prob: float = Field(default=0.01, ge=0.0, lt=1.0, description="lost reading [-]")
    outage_prob: float = Field(default=0.002, ge=0.0, lt=1.0, description="outage start [-]")
    outage_mean_steps: float = Field(default=6.0, ge=1.0, description="outage length [steps]")


def sensor_readings(
    depth: FloatArray, step_s: float, model: SensorModel, rng: np.random.Generator
) -> FloatArray:
    """Gauge readings of a true depth series, with NaN where a reading is missing.

    Parameters
    ----------
    depth
        True water depth [m], shape ``(n_steps, n_points)``: one storm record.
    step_s
        Time between readings [s].
    model
        Noise, drift and gap parameters.
    rng
        Random generator (the only source of randomness).

    Returns
    -------
    numpy.ndarray
        Readings [m], same shape, ``>= 0`` or NaN (missing).
    """
    depth = np.asarray(depth, dtype=np.float64)
    n, p = depth.shape
    t_days = np.arange(n, dtype=np.float64)[:, None] * step_s / 86400.0
    offset = rng.normal(0.0, model.offset_sd, size=(1, p))
    drift = rng.normal(0.0, model.drift_sd, size=(1, p))
    noise = rng.normal(0.0, model.noise_sd, size=(n, p))
    out = np.maximum(0.0, depth + offset + drift * t_days + noise)
    gaps = rng.random((n, p)) < model.gap_prob
    starts = rng.random((n, p)) < model.outage_prob
    if starts.any():
        lengths = rng.geometric(1.0 / model.outage_mean_steps, size=int(starts.sum()))
        rows, cols = np.nonzero(starts)
        for r, c, length in zip(rows.tolist(), cols.tolist(), lengths.tolist(), strict=True):
            gaps[r : r + length, c] = True
    out[gaps] = np.nan
    return out
