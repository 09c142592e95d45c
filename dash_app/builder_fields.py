"""The builder's fields, grouped as the page shows them (the table :mod:`dash_app.schema` reads)."""

from __future__ import annotations

__all__ = ["FIELD_GROUPS"]

#: The builder's fields: (group title, ((dotted path, label), ...)). ``{i}`` in a path
#: stands for each crowd event of the scenario. Fields the schema does not have (yet)
#: are left out.
FIELD_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Scenario",
        (
            ("name", "Name"),
            ("seed", "Seed"),
            ("start", "Start (local time)"),
            ("horizon", "Horizon"),
            ("network.source", "Road network"),
        ),
    ),
    (
        "Cases",
        (
            ("cases.daily_total", "Cases per day"),
            ("cases.hotspots.count", "Hot spots"),
            ("cases.hotspots.share", "Share in hot spots"),
        ),
    ),
    (
        "Fleet and operations centre",
        (
            ("crews.count", "Crew members"),
            ("crews.speed_factor", "Crew speed factor"),
            ("operations.operators", "Operators"),
            ("operations.inspectors", "Inspectors"),
        ),
    ),
    (
        "Dispatch",
        (
            ("dispatch.policy", "Dispatch policy"),
            ("dispatch.zone_size_m", "Zone size [m]"),
            ("dispatch.candidates", "Crews compared"),
            ("dispatch.reposition_every", "Reposition every"),
        ),
    ),
    (
        "Service targets",
        (
            ("targets.dispatch", "Dispatch within"),
            ("targets.arrive", "Arrive within"),
            ("targets.resolve", "Resolve within"),
        ),
    ),
    (
        "Storm",
        (
            ("rain.kind", "Rain"),
            ("rain.start", "Rain starts after"),
            ("rain.design_storm.return_period", "Return period [years]"),
            ("rain.design_storm.duration", "Storm duration"),
            ("rain.event", "Catalogue event"),
            ("rain.radar.event", "Radar event"),
            ("rain.scale", "Rain multiplier"),
        ),
    ),
    (
        "Waterlogging",
        (
            ("hydro.impeded_depth", "Traffic impeded from [m]"),
            ("hydro.closed_depth", "Road closed from [m]"),
        ),
    ),
    (
        "Muck trucks",
        (
            ("trucks.enabled", "Muck trucks on"),
            ("trucks.fleet", "Trucks in the fleet"),
            ("trucks.trips_per_day", "Truck trips per day"),
            ("trucks.site_hours", "Site working hours"),
        ),
    ),
    (
        "Crowd events",
        (
            ("crowds.events.{i}.attendance", "Attendance"),
            ("crowds.events.{i}.metro_share", "Share by metro"),
            ("crowds.alerts.density_threshold", "Alert density [persons/m²]"),
            ("crowds.response.crews_per_alert", "Crews per alert"),
        ),
    ),
)
