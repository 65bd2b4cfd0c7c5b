"""The progress engine (the hot path): beacons in Redis, write-behind to the database,
completions, resume and 我的进度. See DESIGN.md "The progress engine".

- core.py: pure rules (interval union, anti-skip clamp, coverage, completion)
- beacon.lua, load_chapter.lua, store.py: the hot state in Redis
- service.py: the beacon and resume use cases; completion.py: completions
- flusher.py: write-behind; report.py: 我的进度; records.py: database reads and writes
"""
