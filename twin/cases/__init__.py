"""The case model: the case stream, categories, service-time distributions, arrivals and replay.

Below every package that produces cases (the water, the trucks, the crowds, the engine).
"""
