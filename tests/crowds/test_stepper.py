"""The crowd stepper gives simulate's numbers, step by step, to the last bit."""

from __future__ import annotations

import numpy as np

from twin.crowds.alerts import forecast_alerts
from twin.crowds.config import CrowdConfig, FlowModelConfig
from twin.crowds.demand import Demand
from twin.crowds.model import simulate
from twin.crowds.plazas import Plazas
from twin.crowds.stepper import CrowdStepper

THRESHOLD = CrowdConfig().alerts.density_threshold


def test_steps_equal_one_step_simulations(plazas: Plazas, day: Demand) -> None:
    prm = FlowModelConfig()
    stepper = CrowdStepper(plazas, day, prm)
    rng = np.random.default_rng(3)
    first = 19 * 60  # the concert's arrivals and egress, with staff coming and going
    state = simulate(plazas, day.window(0, first), params=prm).final
    for _ in range(first):  # catch the stepper up, without staff
        stepper.step(np.zeros(plazas.n_plazas))
    assert stepper.time == state.time
    alerted = 0
    for k in range(first, first + 240):
        staff = rng.choice([0.0, 12.0], size=plazas.n_plazas)
        res = simulate(
            plazas, day.window(k, k + 1), params=prm, staff=staff[None, :], initial=state
        )
        state = res.final
        np.testing.assert_array_equal(stepper.step(staff), res.density[0])
        now = stepper.crowd_state()
        assert now.time == state.time
        for name in ("visiting", "walking", "queue", "waiting_through", "event_present"):
            np.testing.assert_array_equal(getattr(now, name), getattr(state, name))
        if k % 5 == 4:
            planned = np.broadcast_to(staff, (day.n_steps, staff.size))
            fc = forecast_alerts(state, day, 1800.0, THRESHOLD, params=prm, staff=planned)
            assert stepper.crosses(1800.0, THRESHOLD, staff) == bool(fc)
            alerted += bool(fc)
    assert alerted > 0


def test_forecast_crosses_before_the_egress(plazas: Plazas, day: Demand) -> None:
    truth = simulate(plazas, day)
    stepper = CrowdStepper(plazas, day, FlowModelConfig())
    onset = int(np.argmax((truth.density > THRESHOLD).any(axis=1)))
    for _ in range(onset - 20):
        stepper.step(np.zeros(plazas.n_plazas))
    assert stepper.crosses(1800.0, THRESHOLD, np.zeros(plazas.n_plazas))
    assert not stepper.crosses(600.0, THRESHOLD, np.zeros(plazas.n_plazas))
