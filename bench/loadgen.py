"""The simulated trainees and WeChat: an asyncio client (aiohttp) for bench/rush.py and
bench/faults.py.

A learner does what a trainee does at year end: arrives (most with the session 网页授权
gave them, some typing their password: POST /api/login), opens 我的进度, plays chapters
with a beacon every 15 s of real time (answering each 防挂机 presence check a few seconds
after it shows, as a trainee watching does) (`[from, to]` the stretch played since the last
beacon, as the player sends; nothing is sped up, so the anti-skip clamp credits every
second), and moves to the next chapter once one is learned. A share of them buy the
public plan first: order, JSAPI pay parameters, the sandbox cashier's pay button (the
sandbox then sends the signed, encrypted payment notification to /pay/notify, retrying as
WeChat Pay does), then polling the order until it is paid. `wechat_clicks` plays WeChat
pushing menu clicks (signed XML to /wechat).

Every request goes through `Client.call`, which records its latency and outcome by
endpoint; every trainee sends its own X-Forwarded-For (the gunicorn behind nginx sees one
address per phone, as rate limits expect).
"""

from __future__ import annotations

import asyncio
import random
import secrets
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from bench.stack import PASSWORD, Seeded, Trainee
from tests.wechat_wire import event_xml, sign

BEACON_EVERY_S = 15.0
WECHAT_TOKEN = "sandboxtoken"  # the sandbox default of WECHAT_TOKEN
PLAYER_PATHS = ("/api/beacons", "/api/presence")  # to the player's pool, when there is one


@dataclass
class Deadline:
    """When the run ends; the driver may bring it forward (shared by every task)."""

    at: float

    def passed(self) -> bool:
        return time.monotonic() > self.at


@dataclass
class Sample:
    at: float  # monotonic time the answer came
    latency: float
    status: int  # 0: no answer (connection refused, reset, timeout)


@dataclass
class Client:
    base: str
    session: aiohttp.ClientSession
    sandbox: str = ""  # WeChat's side (the sandbox server); the service's base if empty
    player: str = ""  # where beacons and presence answers go; the service's base if empty
    samples: dict[str, list[Sample]] = field(default_factory=lambda: defaultdict(list))
    # Requests without an answer (status 0), by endpoint and what went wrong.
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    # What the service acknowledged (for the fault checks): (tid, chapter) -> best reply.
    acked_watched: dict[tuple[int, int], int] = field(default_factory=dict)
    acked_done: set[tuple[int, int]] = field(default_factory=set)
    # Every acknowledged watched_seconds, in order: (tid, chapter) -> [(monotonic, seconds)].
    history: dict[tuple[int, int], list[tuple[float, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    paid_orders: dict[str, int] = field(default_factory=dict)  # out_trade_no -> tid
    timeout_s: float = 30.0
    pending: set[asyncio.Task] = field(default_factory=set)  # presence answers to come
    playing: dict[int, str] = field(default_factory=dict)  # tid -> the play on screen

    def answer_later(self, t: Trainee, play: str, check: dict) -> None:
        due = datetime.fromisoformat(check["due"]).timestamp()
        delay = max(0.0, due - time.time()) + random.uniform(1, 5)
        task = asyncio.create_task(self._answer(t, play, check["check_id"], delay))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _answer(self, t: Trainee, play: str, check_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.playing.get(t.tid) != play:
            return  # the chapter ended meanwhile: the dialog went with its player
        await self.call(
            "POST /api/presence",
            "POST",
            "/api/presence",
            t,
            json={"play_id": play, "check_id": check_id},
        )

    async def call(
        self, label: str, method: str, path: str, trainee: Trainee | None = None, **kw: Any
    ) -> tuple[int, Any]:
        headers = kw.pop("headers", {})
        if trainee is not None:
            headers.setdefault("X-Forwarded-For", trainee.ip)
            headers.setdefault("Cookie", trainee.cookie)
        if path.startswith("/_sandbox/"):
            base = self.sandbox or self.base
        elif path in PLAYER_PATHS:
            base = self.player or self.base
        else:
            base = self.base
        start = time.monotonic()
        try:
            async with self.session.request(
                method,
                base + path,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                **kw,
            ) as reply:
                ctype = reply.headers.get("Content-Type", "")
                body = await (reply.json() if "json" in ctype else reply.read())
                status = reply.status
                if label == "POST /api/login" and status == 200:
                    body = {"cookie": reply.cookies}
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            status, body = 0, err
            self.failures[(label, type(err).__name__)] += 1
        end = time.monotonic()
        self.samples[label].append(Sample(end, end - start, status))
        return status, body


def new_session(connections: int) -> aiohttp.ClientSession:
    # Like nginx's upstream keepalive pool (deploy/nginx/wxapp.conf): many phones, a bounded
    # set of connections, and an idle one closed after 1 s, before gunicorn's keep-alive of
    # 2 s closes it. aiohttp's default of 15 s reused connections the server was closing:
    # the request then had no answer (ServerDisconnectedError), which nginx never sees.
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, force_close=False, keepalive_timeout=1.0),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


async def login(client: Client, t: Trainee) -> Trainee:
    status, body = await client.call(
        "POST /api/login",
        "POST",
        "/api/login",
        json={"username": t.id_number, "password": PASSWORD},
        headers={"X-Forwarded-For": t.ip},
    )
    if status != 200:
        return t
    # Every cookie the login set, as a browser sends them back: the session and, since
    # the known devices, the device token (taking only the first dropped the session).
    cookie = "; ".join(f"{m.key}={m.value}" for m in body["cookie"].values())
    return Trainee(t.tid, t.id_number, cookie, t.openid, t.ip)


async def beacon(
    client: Client, t: Trainee, chapter: int, play: str, seq: int, start: float, end: float
) -> dict | None:
    status, body = await client.call(
        "POST /api/beacons",
        "POST",
        "/api/beacons",
        t,
        json={
            "chapter_id": chapter,
            "play_id": play,
            "seq": seq,
            "from": start,
            "to": end,
            "position": end,
        },
    )
    if status != 200:
        return None
    if body.get("presence"):
        # 防挂机: the player pauses at the check's due time and the trainee, watching, taps
        # 继续学习 a few seconds later (an unanswered check would pause the play: 409).
        client.answer_later(t, play, body["presence"])
    key = (t.tid, chapter)
    client.acked_watched[key] = max(client.acked_watched.get(key, 0), body["watched_seconds"])
    client.history[key].append((time.monotonic(), body["watched_seconds"]))
    if body["chapter_done"]:
        client.acked_done.add(key)
    return body


async def learn(
    client: Client, t: Trainee, seeded: Seeded, stop_at: Deadline, every: float
) -> None:
    """Play chapters in order from where the trainee left off (or a random chapter), a
    beacon every `every` s of real time."""
    chapters = seeded.chapters
    first = t.start_chapter if t.start_at else random.randrange(len(chapters))
    resume_at = float(t.start_at)
    for chapter in chapters[first:] + chapters[:first]:
        play, seq, position = secrets.token_hex(8), 0, resume_at
        client.playing[t.tid] = play
        resume_at = 0.0
        opened = await beacon(client, t, chapter, play, seq, position, position)
        if opened is None and stop_at.passed():
            return
        sent = time.monotonic()
        while position < seeded.chapter_seconds:
            await asyncio.sleep(max(0.0, sent + every - time.monotonic()))
            if stop_at.passed():
                return
            # What the player really played since the last beacon (it never runs ahead).
            played = min(time.monotonic() - sent, every)
            sent = time.monotonic()
            end = min(position + played, seeded.chapter_seconds)
            seq += 1
            reply = await beacon(client, t, chapter, play, seq, position, end)
            if reply is None:
                continue  # the stretch is played again after a failure, as the player does
            position = end
            if reply["chapter_done"]:
                break


async def buy(client: Client, t: Trainee, plan_id: int, stop_at: Deadline) -> None:
    status, order = await client.call(
        "POST /api/orders", "POST", "/api/orders", t, json={"plan_id": plan_id}
    )
    if status != 201:
        return
    no = order["out_trade_no"]
    status, _ = await client.call(
        "POST /api/orders/<no>/pay", "POST", f"/api/orders/{no}/pay", t, json={"method": "jsapi"}
    )
    if status != 200:
        return
    # WeChat's side: the trainee confirms in the cashier; the sandbox notifies /pay/notify.
    status, _ = await client.call(
        "sandbox cashier pay (WeChat side)",
        "POST",
        "/_sandbox/pay/cashier",
        data={"out_trade_no": no, "action": "pay"},
        headers={"X-Forwarded-For": t.ip},
    )
    if status != 200:
        return
    started = time.monotonic()
    while not stop_at.passed():
        await asyncio.sleep(1)
        status, view = await client.call("GET /api/orders/<no>", "GET", f"/api/orders/{no}", t)
        if status == 200 and view["status"] == "SUCCESS":
            client.paid_orders[no] = t.tid
            client.samples["order paid, after the pay button"].append(
                Sample(time.monotonic(), time.monotonic() - started, 200)
            )
            return


async def trainee(
    client: Client,
    seeded: Seeded,
    t: Trainee,
    *,
    delay: float,
    stop_at: Deadline,
    logs_in: bool,
    buys: bool,
    every: float = BEACON_EVERY_S,
) -> None:
    await asyncio.sleep(delay)
    if stop_at.passed():
        return
    if logs_in:
        t = await login(client, t)
    await client.call("GET /api/me/progress", "GET", "/api/me/progress", t)
    if buys:
        await buy(client, t, seeded.buy_plan, stop_at)
    await learn(client, t, seeded, stop_at, every)
    await client.call("GET /api/me/progress", "GET", "/api/me/progress", t)


def click_request(openid: str, key: str, when: int) -> tuple[str, dict[str, str], str]:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    query = {"signature": sign(WECHAT_TOKEN, timestamp, nonce), "timestamp": timestamp}
    query["nonce"] = nonce
    return "/wechat", query, event_xml(openid, "CLICK", key, when)


async def wechat_clicks(
    client: Client, seeded: Seeded, per_s: float, stop_at: Deadline, label: str = "POST /wechat"
) -> None:
    """WeChat pushing menu clicks (我的进度 and friends) from random bound followers."""
    from wxapp.conversation.menu import MY_CERTIFICATES, MY_PROGRESS, PLANS_SPECIALIST

    keys = [MY_PROGRESS, MY_CERTIFICATES, PLANS_SPECIALIST]
    tasks = set()
    n = 0
    while not stop_at.passed():
        n += 1
        t = random.choice(seeded.trainees)
        path, query, xml = click_request(t.openid, random.choice(keys), 1_750_000_000 + n)
        task = asyncio.create_task(
            client.call(
                label,
                "POST",
                path,
                params=query,
                data=xml.encode(),
                headers={"Content-Type": "text/xml"},
            )
        )
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        await asyncio.sleep(random.expovariate(per_s))
    if tasks:
        await asyncio.gather(*tasks)


def summarize(samples: list[Sample], since: float = 0, until: float = float("inf")) -> dict:
    window = [s for s in samples if since <= s.at <= until]
    if not window:
        return {"n": 0, "per_s": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "errors": 0, "statuses": {}}
    latencies = sorted(s.latency for s in window)
    span = (min(until, max(s.at for s in window)) - max(since, min(s.at for s in window))) or 1
    return {
        "n": len(window),
        "per_s": len(window) / span,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "errors": sum(1 for s in window if s.status == 0 or s.status >= 400),
        "statuses": dict(sorted(_count(s.status for s in window).items())),
    }


def _count(values) -> dict[int, int]:
    out: dict[int, int] = defaultdict(int)
    for v in values:
        out[v] += 1
    return out
