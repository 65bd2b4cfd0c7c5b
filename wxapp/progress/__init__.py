"""The progress engine (the hot path): beacons in Redis, write-behind to the database,
completions, resume and 我的进度. docs/architecture.md follows a beacon through it.

- core.py: pure rules (interval union, the clock as a budget, presence checks, coverage,
  completion)
- beacon.lua, presence.lua, load_chapter.lua, store.py, wire.py: the hot state in Redis
- tracking.py: the beacon and resume use cases; completion.py: completions
- flusher.py: write-behind; report.py: 我的进度; records.py: database reads and writes
- standing.py: the yearly standing (pure: each kind counts up to its requirement);
  credits.py: a trainee's 学时 for a year, by kind (公需科目, 专业科目), read into it
"""
