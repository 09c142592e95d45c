"""Where models meet the case loop: hazards on roads, ponding, truck and crowd cases, alert staging.

Each module joins a domain model (water, trucks, crowds, forecasts) to the engine; the
engine and the domain models never import this package.
"""
