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
import os
import signal
import subprocess
import time

from bench import fault_checks as checks
from bench import faults_push, loadgen
from bench.fault_run import LABELS, LEASE_S, Run, steady_activity
from bench.infra import PrivatePostgres, PrivateRedis
from bench.stack import Seeded, Stack, reset_database, seed

SCENARIOS = ["redis", "worker", "postgres", "notifier", "notify20", "wechat"]


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
            "beacons answered again (s after the crash)": run.recovered_after(at),
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
            "我的进度 answered again (s after the restart began)": run.recovered_after(
                at, LABELS[1]
            ),
        },
    )


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
            result = await SCENARIO_FUNCTIONS[name](run)
            for key, value in result.items():
                print(f"  {key}: {value}", flush=True)
            print(f"  => lost acknowledged: {result['LOST ACKNOWLEDGED']}", flush=True)
        run.deadline.at = time.monotonic()
        await asyncio.gather(*learners, steady)
        for answer in list(client.pending):  # presence answers not yet due
            answer.cancel()
        await asyncio.gather(*client.pending, return_exceptions=True)
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


SCENARIO_FUNCTIONS = {
    "redis": s_redis,
    "worker": s_worker,
    "postgres": s_postgres,
    "notifier": faults_push.s_notifier,
    "notify20": faults_push.s_notify20,
    "wechat": faults_push.s_wechat,
}


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
