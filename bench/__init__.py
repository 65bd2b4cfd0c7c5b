"""Benchmarks: scripts that start the app under gunicorn and measure it (see docs/performance.md)."""
