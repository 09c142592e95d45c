"""Every vehicle sees the flood: muck trucks and crews route on one road state.

The rainstorm working day with the muck trucks working round the clock: the water at the
low points closes and slows roads for the crews and for the trucks alike; trucks heading
for a closed underpass re-plan, and the run's KPIs count the reroutes and the delay.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twin.coupling.hazards import road_states
from twin.run.runner import prepare
from twin.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def test_trucks_reroute_around_flooded_underpasses_and_the_run_counts_it() -> None:
    s = load_scenario(ROOT / "scenarios" / "gongshu_rainstorm.yaml").with_updates(
        horizon=14 * 3600,
        **{"trucks.enabled": True, "trucks.site_hours": "00:00-24:00",
           "trucks.dock_hours": "00:00-24:00", "trucks.trips_per_day": 3000},
    )  # fmt: skip
    sim = prepare(s)
    trucks, water = sim.trucks, sim.water
    assert trucks is not None and water is not None
    states = road_states(water, sim.net.n_edges, s.hydro.slow_factor)
    assert any(np.isinf(f).any() for f in states.factors)  # the storm closes roads
    # No truck enters an edge while it is closed.
    tr = trucks.track
    edge = tr["edge"].to_numpy(np.int64)
    enter = tr["enter"].to_numpy(np.float64)
    epochs = np.searchsorted(np.asarray(states.times), enter, side="right")
    for ep in np.unique(epochs[epochs > 0]).tolist():
        sel = epochs == ep
        assert not states.closed(int(ep))[edge[sel]].any(), ep
    trips = trucks.trips
    assert trips["flood_reroutes"].sum() > 0
    assert trips["flood_delay_s"].fillna(0.0).sum() > 0
    kpis = trucks.kpis
    assert kpis["flood_reroutes"] == trips["flood_reroutes"].sum() > 0
    assert kpis["trips_rerouted_by_flood"] > 0 and kpis["flood_delay_total_min"] > 0
