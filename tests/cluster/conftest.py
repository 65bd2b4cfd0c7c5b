"""The scale-out layout that scripts/cluster/test-cluster.sh built (CLUSTER_DIR/layout.json),
and a trainee's phone talking to it through nginx."""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import redis
import requests


@pytest.fixture(scope="session")
def layout() -> dict:
    folder = os.environ.get("CLUSTER_DIR")
    if not folder:
        pytest.fail("tests/cluster run under `make test-cluster` (CLUSTER_DIR names the layout)")
    data = json.loads((Path(folder) / "layout.json").read_text())
    data["dir"] = folder
    return data


@pytest.fixture(scope="session")
def cluster(layout) -> redis.RedisCluster:
    url = layout["redis_url"].replace("redis+cluster://", "redis://")
    return redis.RedisCluster.from_url(url, decode_responses=True)


def sql(url: str, query: str, *args):
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        cursor = c.execute(query, args)
        return cursor.fetchall() if cursor.description else []


@dataclass
class Phone:
    """One trainee's browser: a cookie jar, through nginx."""

    base: str
    tid: int
    id_number: str
    openid: str
    http: requests.Session = field(default_factory=requests.Session)

    def login(self, password: str) -> None:
        res = self.http.post(
            self.base + "/api/login",
            json={"username": self.id_number, "password": password},
            timeout=10,
        )
        assert res.status_code == 200, res.text

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.base + path, timeout=10, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.http.post(self.base + path, timeout=10, **kw)


@dataclass
class BeaconLog:
    """What the server acknowledged and refused, with when (monotonic seconds)."""

    acked: dict = field(default_factory=dict)  # (tid, chapter) -> max watched_seconds
    done: set = field(default_factory=set)  # (tid, chapter) acknowledged learned
    refused: list = field(default_factory=list)  # (time, status)
    ok_times: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def play(phone: Phone, chapters: list[int], seconds: int, log: BeaconLog, stop, every=1.0):
    """Play `chapters` in order as the player does: a beacon every `every` s with the
    stretch really played; a refused stretch is played again."""
    for chapter in chapters:
        play_id, seq, position = secrets.token_hex(8), 0, 0.0
        while not stop.is_set():
            body = {"chapter_id": chapter, "play_id": play_id, "seq": seq}
            body |= {"from": position, "to": position, "position": position}
            status = beacon(phone, body, log, chapter)
            if status == 200:
                break
            time.sleep(every)
        sent = time.monotonic()
        while position < seconds and not stop.is_set():
            time.sleep(max(0.0, sent + every - time.monotonic()))
            played = min(time.monotonic() - sent, every)
            sent = time.monotonic()
            end = min(position + played, seconds)
            seq += 1
            body = {"chapter_id": chapter, "play_id": play_id, "seq": seq}
            body |= {"from": position, "to": end, "position": end}
            reply = beacon(phone, body, log, chapter)
            if reply == 409:  # the play was lost with its Redis state: start it again
                play_id, seq = secrets.token_hex(8), 0
                continue
            if reply != 200:
                continue
            position = end
            if (phone.tid, chapter) in log.done:
                break


def beacon(phone: Phone, body: dict, log: BeaconLog, chapter: int) -> int:
    try:
        res = phone.post("/api/beacons", json=body)
    except requests.RequestException:
        with log.lock:
            log.refused.append((time.monotonic(), 0))
        return 0
    with log.lock:
        if res.status_code == 200:
            reply = res.json()
            key = (phone.tid, chapter)
            log.acked[key] = max(log.acked.get(key, 0), reply["watched_seconds"])
            if reply["chapter_done"]:
                log.done.add(key)
            log.ok_times.append(time.monotonic())
        else:
            log.refused.append((time.monotonic(), res.status_code))
    return res.status_code
