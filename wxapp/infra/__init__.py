"""Shared infrastructure the domain areas build on: the clock, transactions, SQL helpers
for both databases, limits and rate limiting, metrics, PDF fonts, health checks, and how 学时 and 元 are
written in texts (texts.py)."""
