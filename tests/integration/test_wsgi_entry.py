"""wsgi.py, the entry point gunicorn and the workers load."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_entry_point_keeps_the_startup_heap_out_of_the_collectors_scans(tmp_path):
    script = "import gc, wsgi; print(gc.get_freeze_count(), len(wsgi.app.url_map._rules))"
    env = {**os.environ, "WXAPP_SANDBOX": "1"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    frozen, routes = int(out[0]), int(out[1])
    assert routes > 20  # the real app was built
    assert frozen > 10_000  # its modules and objects are frozen, not scanned by every collection
