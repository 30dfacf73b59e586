"""Test and dev-stack helpers: a real Tansu broker, a throwaway PostgreSQL, pytest fixtures."""
