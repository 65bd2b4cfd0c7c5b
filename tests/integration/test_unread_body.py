"""A body the app answered without reading it all, under gunicorn as deployed.

gunicorn drops at most 64 KiB of an unread body before keeping a connection; past that it
closes it with the rest unread, and the reset that follows is what nginx took as the node
failing (a 502, and the node out of the upstream). These requests go over one kept-alive
connection, as nginx sends them: each refusal must arrive, and the connection must carry on.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from wxapp.infra import limits

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def gunicorn(base_config: dict[str, Any], tmp_path_factory) -> Iterator[int]:
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    env = {**os.environ, **{k: str(v) for k, v in base_config.items()}}
    env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    log = (tmp_path / "gunicorn.log").open("wb")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"), "--workers", "1",
            "--worker-class", "gthread", "--threads", "2", "--bind", f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not healthy(port):
            assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.1)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
        log.close()


def healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("path", "size"),
    [
        ("/api/login", 3 * MiB // 2),  # past login's own 4 KB
        ("/api/beacons", 3 * MiB // 2),  # the beacon's endpoint in front of Flask
        ("/api/orders", 3 * MiB),  # past the app-wide 2 MiB
    ],
)
def test_a_refused_body_is_answered_and_the_connection_kept(gunicorn, path, size):
    conn = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=10)
    conn.connect()
    sock = conn.sock
    try:
        for _ in range(3):
            body = b"x" * size
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            res = conn.getresponse()
            assert res.status == 413
            assert json.loads(res.read()) == {"error": "too_large", "message": "请求内容过大"}
        conn.request("GET", "/healthz")
        assert conn.getresponse().status == 200
        assert conn.sock is sock  # never reconnected: the server kept the connection each time
    finally:
        conn.close()


def test_a_body_told_past_what_is_drained_is_not_read(gunicorn):
    """Nothing nginx lets through is that large: the connection closes, nothing is read."""
    conn = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=10)
    conn.putrequest("POST", "/api/login")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(limits.UNREAD_BODY_DRAIN + 1))
    try:
        conn.endheaders(b"x" * 128 * 1024)  # past what gunicorn itself drops
        res = conn.getresponse()
        assert res.status == 413
        res.read()
        with pytest.raises(ConnectionError):  # gunicorn closed it: the body was not read
            conn.request("GET", "/healthz")
            conn.getresponse()
    finally:
        conn.close()
