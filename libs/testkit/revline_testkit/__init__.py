"""Revline's test and dev kit: what tests, benchmarks and `make run` need, and images never ship.

A real Tansu broker (``broker``), a throwaway PostgreSQL (``postgres``), the
pytest plugin with their fixtures (``pytest_plugin``), a service served over
real HTTP with its fixture factory (``live``, ``fixtures``), deadline waits
(``waiting``), hand-made upstream events (``publishing``), the dev stack behind
`make run` (``devstack``) and `make migrate` (``migrate_all``). The production
packages (revline_events, revline_service, the services) import nothing from
here, and no Dockerfile copies it; tests/deploy checks both.
"""
