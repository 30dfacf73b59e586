"""Revline benchmarks behind `make bench` (`python -m bench`), written to bench/results.json.

Each benchmark starts its own Tansu broker and, for PostgreSQL, its own
throwaway cluster, and stops them. Nothing here asserts on a time: the figures
are reported, never judged. See bench/README.md for what each figure means.
"""
