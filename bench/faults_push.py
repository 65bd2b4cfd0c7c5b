"""Fault scenarios of the push and payment paths (bench/faults.py runs them): the
notification worker killed, one payment notification delivered 20 times at once, and the
WeChat API slow or failing."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import time
from contextlib import closing
from datetime import UTC, datetime

import sqlalchemy as sa

from bench import fault_checks as checks
from bench import loadgen
from bench.fault_run import LEASE_S, Run


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
    from wxapp.app import create_app
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
