"""CLI command groups, one module per area, each exposing `commands = [...]` (click commands)."""
