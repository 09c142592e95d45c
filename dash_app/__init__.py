"""The planners' what-if app (Plotly Dash). Imports twin, never the reverse."""
