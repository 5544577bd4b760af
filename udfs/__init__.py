"""Warehouse adapters, one per warehouse, each thin: data in and out, nothing else.

``duckdb`` is the embedded default. Adapters depend on :mod:`components`, never
the other way round.
"""
