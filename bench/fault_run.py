"""The state one bench/faults.py run shares between its scenarios, and the steady
background activity (buyers, 我的进度, menu clicks) every scenario runs under."""

from __future__ import annotations

import asyncio
import itertools

import redis

from bench import fault_checks as checks
from bench import loadgen
from bench.stack import Seeded, Stack

LEASE_S = 60  # NOTIFY_LEASE_S: the shortest the settings allow
LABELS = [
    "POST /api/beacons",
    "GET /api/me/progress",
    "POST /api/orders",
    "POST /api/orders/<no>/pay",
    "GET /api/orders/<no>",
    "POST /wechat",
]


class Run:
    def __init__(self, stack: Stack, pg, rd, seeded: Seeded, client: loadgen.Client):
        self.stack, self.pg, self.rd, self.seeded, self.client = stack, pg, rd, seeded, client
        self.engine = checks.engine_for(stack.database_url)
        self.buyers = iter(seeded.trainees[len(seeded.trainees) // 2 :])
        self.deadline = loadgen.Deadline(float("inf"))

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.stack.redis_url, decode_responses=True)

    async def buy_wave(self, n: int) -> None:
        await asyncio.gather(
            *(
                loadgen.buy(self.client, t, self.seeded.buy_plan, self.deadline)
                for t in itertools.islice(self.buyers, n)
            )
        )

    def window(self, label: str, since: float, until: float) -> dict:
        s = loadgen.summarize(self.client.samples[label], since, until)
        return {"n": s["n"], "statuses": s.get("statuses", {})}

    def recovered_after(self, since: float, label: str = "POST /api/beacons") -> float | None:
        """Seconds from `since` to the first `label` request answered 200 after the last
        failed one (0: none failed)."""
        samples = [s for s in self.client.samples[label] if s.at > since]
        failed = [s.at for s in samples if s.status != 200]
        if not failed:
            return 0.0
        ok = [s.at for s in samples if s.status == 200 and s.at > failed[-1]]
        return ok[0] - since if ok else None

    async def settle(self, fault_at: float, before: dict, extra: dict, wait_s: float = 30) -> dict:
        await asyncio.sleep(5)
        drained = await asyncio.to_thread(
            checks.wait_drained, self.engine, self.stack.redis_url, wait_s
        )
        result = checks.lost(self.engine, self.client, before, fault_at)
        return {**extra, "drained": drained, **result}


async def steady_activity(run: Run, seeded: Seeded, learners: int) -> None:
    """Throughout: a buyer a second, 我的进度 five times a second, two menu clicks a second."""
    clicks = asyncio.create_task(loadgen.wechat_clicks(run.client, seeded, 2, run.deadline))
    pending: set[asyncio.Task] = set()
    n = 0
    while not run.deadline.passed():
        n += 1
        t = seeded.trainees[n % learners]
        pending.add(asyncio.create_task(run.client.call(LABELS[1], "GET", "/api/me/progress", t)))
        if n % 5 == 0:
            pending.add(asyncio.create_task(run.buy_wave(1)))
        pending = {p for p in pending if not p.done()}
        await asyncio.sleep(0.2)
    await asyncio.gather(clicks, *pending)
