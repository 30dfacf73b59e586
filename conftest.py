"""Root conftest: loads the shared fixtures (Tansu broker, throwaway PostgreSQL, db URLs)."""

pytest_plugins = ["revline_testkit.pytest_plugin"]
