"""Faults under load: each scenario breaks one part while trainees learn and buy, then
reports what was lost ("lost acknowledged" must be 0; bench/fault_checks.py says exactly
what counts as acknowledged).

    .venv/bin/python -m bench.faults [--learners 300] [--only redis,worker,...]

Runs the whole service (bench/stack.py) against a PRIVATE Redis (AOF everysec) and a
PRIVATE PostgreSQL cluster in temporary directories (bench/infra.py), so restarting them
disturbs no one else. The background load: `--learners` trainees learning with a beacon
every 3 s of real time (legitimate for the clamp: each stretch is what was played since
the last beacon; shorter than the player's 15 s so more beacons, and completions, meet
each fault) and, per scenario, a wave of buyers. Scenarios, in order:

- redis:    redis-server killed (SIGKILL) and started again on its AOF;
- worker:   one gunicorn worker killed with SIGKILL (the master starts another);
- postgres: PostgreSQL restarted (`pg_ctl restart -m fast`) while buyers pay: requests
            fail with 503 and the service recovers by itself;
- notifier: the notification worker killed (SIGKILL) mid-run and started again: every
            row ends sent (exactly one inbox message each) or given up;
- notify20: the same payment notification delivered 20 times at once, for 10 orders;
- wechat:   the WeChat API sandbox slow (6 s), then answering HTTP 502, then errcode -1:
            menu-click callbacks still answer within 5 s; pushes retry and get sent once
            it recovers.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import subprocess
import time
from contextlib import closing
from datetime import UTC, datetime

import redis
import sqlalchemy as sa

from bench import fault_checks as checks
from bench import loadgen
from bench.infra import PrivatePostgres, PrivateRedis
from bench.stack import Seeded, Stack, reset_database, seed

SCENARIOS = ["redis", "worker", "postgres", "notifier", "notify20", "wechat"]
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

    def recovered_after(self, since: float) -> float | None:
        """Seconds from `since` to the first beacon answered 200 after a failed one."""
        samples = [s for s in self.client.samples["POST /api/beacons"] if s.at > since]
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


async def s_redis(run: Run) -> dict:
    before, at = checks.flushed(run.engine), time.monotonic()
    run.rd.crash()
    await asyncio.sleep(3)
    run.rd.start()
    back = time.monotonic()
    await asyncio.sleep(15)
    return await run.settle(
        at,
        before,
        {
            **{f"{x}, while down +2 s": run.window(x, at, back + 2) for x in LABELS},
            "recovered (s after the crash)": run.recovered_after(at),
        },
    )


async def s_worker(run: Run) -> dict:
    before, at = checks.flushed(run.engine), time.monotonic()
    victim = run.stack.web_workers()[0]
    os.kill(victim, signal.SIGKILL)
    await asyncio.sleep(15)
    return await run.settle(
        at,
        before,
        {
            "killed worker pid": victim,
            **{f"{x}, next 5 s": run.window(x, at, at + 5) for x in LABELS},
        },
    )


async def s_postgres(run: Run) -> dict:
    before, at = checks.flushed(run.engine), time.monotonic()
    await asyncio.to_thread(run.pg.restart)
    back = time.monotonic()
    await asyncio.sleep(15)
    run.engine.dispose()
    return await run.settle(
        at,
        before,
        {
            "restart took (s)": round(back - at, 1),
            **{f"{x}, during restart +2 s": run.window(x, at, back + 2) for x in LABELS},
            "recovered (s after the restart began)": run.recovered_after(at),
        },
    )


def inbox_per_row(run: Run) -> dict:
    with closing(run.redis()) as r:
        seen: dict[str, int] = {}
        for key in r.scan_iter("sandbox:inbox:*", count=1000):
            for item in r.lrange(key, 0, -1):
                cid = json.loads(item).get("client_msg_id", "")
                seen[cid] = seen.get(cid, 0) + 1
        repeats = int(r.get("sandbox:repeats") or 0)
    with run.engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT id, status FROM outbox")).all())
    sent = {f"outbox-{i}" for i, s in rows.items() if s == "sent"}
    return {
        "outbox rows": len(rows),
        "sent": len(sent),
        "given up": sum(1 for s in rows.values() if s == "given_up"),
        "pending": sum(1 for s in rows.values() if s == "pending"),
        "sent rows without exactly one inbox message": sum(1 for c in sent if seen.get(c) != 1),
        "inbox messages of no sent row": sum(n for c, n in seen.items() if c not in sent),
        "repeated sends dropped by client_msg_id": repeats,
    }


async def s_notifier(run: Run) -> dict:
    with closing(run.redis()) as r:
        from wxapp.sandbox import oa_state

        oa_state.set_switches(r, slow_ms=300)  # each push takes a while: kill mid-batch
    before, at = checks.flushed(run.engine), time.monotonic()
    await run.buy_wave(40)
    await asyncio.sleep(3)
    run.stack.stop("notifier", signal.SIGKILL)
    killed = time.monotonic()
    await asyncio.sleep(2)
    run.stack.start_notifier()
    with closing(run.redis()) as r:
        oa_state.reset_switches(r)
    await asyncio.sleep(5)
    # The killed worker's claims expire after NOTIFY_LEASE_S (60 s here); then another
    # worker takes those rows.
    result = await run.settle(
        at, before, {"killed after (s)": round(killed - at, 1)}, wait_s=LEASE_S + 60
    )
    counts = inbox_per_row(run)
    result.update(counts)
    result["LOST ACKNOWLEDGED"] += counts["pending"]
    result["sent more than once or lost"] = counts["sent rows without exactly one inbox message"]
    result["LOST ACKNOWLEDGED"] += result["sent more than once or lost"]
    return result


async def s_notify20(run: Run) -> dict:
    from tests.paysign import transaction
    from wxapp import create_app
    from wxapp.sandbox.pay_keys import platform_headers, sandbox_pay_keys
    from wxapp.sandbox.pay_notifier import notification_body

    app = create_app()
    keys = sandbox_pay_keys(app)
    orders = []
    for t in itertools.islice(run.buyers, 10):
        status, order = await run.client.call(
            "POST /api/orders", "POST", "/api/orders", t, json={"plan_id": run.seeded.buy_plan}
        )
        if status == 201:
            orders.append((t, order))
    before, at = checks.flushed(run.engine), time.monotonic()
    statuses: dict[int, int] = {}

    async def deliver(order: dict) -> None:
        tx = transaction(order["out_trade_no"], order["amount"], app)
        body = notification_body(tx, keys.apiv3_key, datetime.now(UTC))
        headers = {
            "Content-Type": "application/json",
            **platform_headers(keys, body, int(time.time())),
        }
        replies = await asyncio.gather(
            *(
                run.client.call(
                    "POST /pay/notify (x20)",
                    "POST",
                    "/pay/notify",
                    data=body.encode(),
                    headers=headers,
                )
                for _ in range(20)
            )
        )
        for status, _ in replies:
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(deliver(o) for _, o in orders))
    app.extensions["redis"].close()
    nos = [o["out_trade_no"] for _, o in orders]
    with run.engine.connect() as conn:
        paid = conn.execute(
            sa.text(
                "SELECT count(*) FROM orders WHERE status='SUCCESS' AND out_trade_no = ANY(:n)"
            ),
            {"n": nos},
        ).scalar()
        enrollments = conn.execute(
            sa.text("SELECT count(*) FROM enrollments WHERE plan_id = :p AND trainee_id = ANY(:t)"),
            {"p": run.seeded.buy_plan, "t": [t.tid for t, _ in orders]},
        ).scalar()
        rows = conn.execute(
            sa.text("SELECT count(*) FROM outbox WHERE subject = ANY(:s)"),
            {"s": [f"order:{n}" for n in nos]},
        ).scalar()
    for no, (t, _) in zip(nos, orders, strict=True):
        run.client.paid_orders[no] = t.tid
    result = await run.settle(
        at,
        before,
        {
            "orders": len(orders),
            "notifications sent": 20 * len(orders),
            "answers": statuses,
            "paid orders": paid,
            "enrollments": enrollments,
            "payment_succeeded rows": rows,
        },
    )
    result["LOST ACKNOWLEDGED"] += abs(paid - len(orders)) + abs(enrollments - len(orders))
    result["LOST ACKNOWLEDGED"] += abs(rows - len(orders))
    return result


async def s_wechat(run: Run) -> dict:
    from wxapp.sandbox import oa_state

    before, at = checks.flushed(run.engine), time.monotonic()
    phases = {"slow 6 s": {"slow_ms": 6000}, "HTTP 502": {"fail_http": 502}}
    phases["errcode -1 (busy)"] = {"fail_errcode": -1, "fail_times": -1}
    result: dict = {}
    for name, switch in phases.items():
        with closing(run.redis()) as r:
            oa_state.reset_switches(r)
            oa_state.set_switches(r, **switch)
        start = time.monotonic()
        await asyncio.gather(
            run.buy_wave(10),
            loadgen.wechat_clicks(
                run.client, run.seeded, 5, loadgen.Deadline(start + 12), label=f"/wechat {name}"
            ),
        )
        clicks = loadgen.summarize(run.client.samples[f"/wechat {name}"])
        with run.engine.connect() as conn:
            retrying = conn.execute(
                sa.text("SELECT count(*) FROM outbox WHERE status='pending' AND attempts > 0")
            ).scalar()
        result[name] = {
            "menu clicks": clicks["n"],
            "slowest click answer (ms)": round(
                max(s.latency for s in run.client.samples[f"/wechat {name}"]) * 1000
            ),
            "click errors": clicks["errors"],
            "pushes waiting to retry": retrying,
        }
    with closing(run.redis()) as r:
        oa_state.reset_switches(r)
    result.update(await run.settle(at, before, {}, wait_s=60))
    counts = inbox_per_row(run)
    result.update(counts)
    slow = sum(
        1
        for x in result.values()
        if isinstance(x, dict) and x.get("slowest click answer (ms)", 0) >= 5000
    )
    result["LOST ACKNOWLEDGED"] += (
        counts["pending"] + counts["sent rows without exactly one inbox message"]
    )
    result["click answers over 5 s (must be 0)"] = slow
    return result


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


async def drive(stack: Stack, pg, rd, seeded: Seeded, opts) -> None:
    async with loadgen.new_session(128) as session:
        client = loadgen.Client(stack.base, session, stack.sandbox, timeout_s=15)
        run = Run(stack, pg, rd, seeded, client)
        learners = [
            asyncio.create_task(
                loadgen.trainee(
                    client,
                    seeded,
                    t,
                    delay=i * 3 / opts.learners,
                    stop_at=run.deadline,
                    logs_in=False,
                    buys=False,
                    every=3.0,
                )
            )
            for i, t in enumerate(seeded.trainees[: opts.learners])
        ]
        steady = asyncio.create_task(steady_activity(run, seeded, opts.learners))
        await asyncio.sleep(20)  # warm: every learner has opened a chapter
        for name in opts.only:
            print(f"--- {name}", flush=True)
            result = await globals()[f"s_{name}"](run)
            for key, value in result.items():
                print(f"  {key}: {value}", flush=True)
            print(f"  => lost acknowledged: {result['LOST ACKNOWLEDGED']}", flush=True)
        run.deadline.at = time.monotonic()
        await asyncio.gather(*learners, steady)
        print("--- the end: load stopped, flusher and notifier drained", flush=True)
        drained = checks.wait_drained(run.engine, stack.redis_url, 60, dirty_too=True)
        result = {"drained": drained, **checks.final(run.engine, client)}
        for key, value in result.items():
            print(f"  {key}: {value}", flush=True)
        print(f"  => lost acknowledged: {result['LOST ACKNOWLEDGED']}", flush=True)
        print("--- every request of the run, by endpoint and status:")
        for label, samples in sorted(client.samples.items()):
            print(f"  {label}: {loadgen.summarize(samples)['statuses']}")
        run.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--only", default=",".join(SCENARIOS))
    opts = parser.parse_args()
    opts.only = opts.only.split(",")
    rd, pg = PrivateRedis(), PrivatePostgres()
    stack = None
    try:
        rd.start()
        pg.start()
        stack = Stack(
            pg.url("wxapp_faults"),
            rd.url,
            extra_env={
                "NOTIFY_BACKOFF_S": "2",
                "NOTIFY_BACKOFF_MAX_S": "4",
                "NOTIFY_POLL_S": "1",
                "NOTIFY_LEASE_S": str(LEASE_S),
            },
        )
        reset_database(stack.database_url, stack.env())
        seeded = seed(stack.env(), opts.learners + 600)
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        print(
            f"commit {commit}; {opts.learners} learners; private Redis :{rd.port} (AOF "
            f"everysec), private PostgreSQL :{pg.port}",
            flush=True,
        )
        stack.start()
        asyncio.run(drive(stack, pg, rd, seeded, opts))
    finally:
        if stack is not None:
            stack.stop_all()
        rd.close()
        pg.close()


if __name__ == "__main__":
    main()
