"""The demo data `make run` seeds: trainees, units and a small catalogue."""
