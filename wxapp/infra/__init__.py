"""Shared infrastructure the domain areas build on: the clock, transactions, SQL helpers
for both databases, limits and rate limiting, metrics, PDF fonts, health checks."""
