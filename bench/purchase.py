"""CPU of one purchase, step by step, in-process: the buyers' share of the year-end rush.

    .venv/bin/python -m bench.purchase [--buyers 100] [--rounds 5] [--profile STEP]

Runs the app in this process (Flask's test client, no HTTP, no concurrency) on its own
database (BENCH_DATABASE_URL, default wxapp_bench_purchase: emptied, migrated and seeded
with bench.stack's catalogue and trainees, each bound to WeChat) and Redis index
(BENCH_REDIS_URL, default index 9, emptied). WeChat Pay is the built-in sandbox, served by
a second process (bench.stack's sandbox gunicorn), as the real one is another server: its
CPU is not in the figures, the prepay's HTTP round trip to it is in the wall time.

Each buyer, signed in as 网页授权 leaves them, goes through one purchase: 提交订单
(`POST /api/orders`), 立即支付 (`POST /api/orders/<no>/pay`, JSAPI: the prepay at WeChat Pay
and the signed paySign), one poll of the waiting page while the cashier is open
(`GET /api/orders/<no>`), WeChat Pay's payment notification (`POST /pay/notify`, signed and
encrypted beforehand, outside the timing, as tests/paysign.py builds it), and the poll
that then sees the order paid. Prints, per step, the wall time and the CPU time of this
process (PostgreSQL's and Redis's own CPU are not in it) per buyer, for each round of
`--buyers` buyers and the median of the rounds. With `--profile STEP` (create, pay,
poll, notify, paid-poll) that step runs under cProfile, timed in CPU, and the statistics
go to purchase-STEP.pstats.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import time
from collections.abc import Callable

import redis

from bench.stack import Stack, reset_database, seed

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/wxapp_bench_purchase"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
WARM = 20  # buyers before the rounds: imports, pools, compiled-statement caches
STEPS = ("create", "pay", "poll", "notify", "paid-poll")
LABELS = {
    "create": "提交订单   POST /api/orders",
    "pay": "立即支付   POST /api/orders/<no>/pay",
    "poll": "poll, unpaid  GET /api/orders/<no>",
    "notify": "notification  POST /pay/notify",
    "paid-poll": "poll, paid    GET /api/orders/<no>",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=100, help="buyers per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", choices=STEPS, help="run this step under cProfile")
    args = parser.parse_args()

    stack = Stack(DATABASE_URL, REDIS_URL)
    env = {
        **stack.env(),
        "SECRET_KEY": "bench-purchase-secret-key",
        "PROXY_COUNT": "0",  # the test client sends no X-Forwarded-For
    }
    reset_database(DATABASE_URL, env)
    redis.Redis.from_url(REDIS_URL).flushdb()
    seeded = seed(env, WARM + args.buyers * args.rounds)
    stack.start_sandbox()
    try:
        run(seeded, args)
    finally:
        stack.stop_all()


def run(seeded, args) -> None:
    from models import db
    from tests import paysign
    from tests.factories import sign_in
    from wxapp.app import create_app
    from wxapp.extensions import app_now

    app = create_app()  # reads the environment seed() set
    client = app.test_client()
    profiler = cProfile.Profile(time.process_time) if args.profile else None

    def timed(step: str, totals: dict, call: Callable[[], object]) -> object:
        if profiler is not None and step == args.profile:
            profiler.enable()
        wall, cpu = time.perf_counter(), time.process_time()
        result = call()
        totals[step][0] += time.perf_counter() - wall
        totals[step][1] += time.process_time() - cpu
        if profiler is not None and step == args.profile:
            profiler.disable()
        return result

    def buy(tid: int, totals: dict) -> None:
        sign_in(client, tid)
        reply = timed(
            "create", totals, lambda: client.post("/api/orders", json={"plan_id": seeded.buy_plan})
        )
        assert reply.status_code == 201, reply.get_json()
        order = reply.get_json()
        no = order["out_trade_no"]
        reply = timed("pay", totals, lambda: client.post(f"/api/orders/{no}/pay", json={}))
        assert reply.status_code == 200, reply.get_json()
        reply = timed("poll", totals, lambda: client.get(f"/api/orders/{no}"))
        assert reply.get_json()["status"] == "NOTPAY", reply.get_json()
        with app.app_context():
            tx = paysign.transaction(no, order["amount"], app)
            body, headers = paysign.notification(app, tx, app_now())
        reply = timed(
            "notify", totals, lambda: client.post("/pay/notify", data=body, headers=headers)
        )
        assert reply.status_code == 204, reply.get_data(as_text=True)
        reply = timed("paid-poll", totals, lambda: client.get(f"/api/orders/{no}"))
        assert reply.get_json()["status"] == "SUCCESS", reply.get_json()

    tids = [t.tid for t in seeded.trainees]
    scratch = {step: [0.0, 0.0] for step in STEPS}
    for tid in tids[:WARM]:
        buy(tid, scratch)
    if profiler is not None:
        profiler = cProfile.Profile(time.process_time)  # not the warm-up's calls
    rounds: list[dict[str, list[float]]] = []
    for r in range(args.rounds):
        totals = {step: [0.0, 0.0] for step in STEPS}
        batch = tids[WARM + r * args.buyers : WARM + (r + 1) * args.buyers]
        for tid in batch:
            buy(tid, totals)
        per_buyer = {step: [v / len(batch) * 1000 for v in totals[step]] for step in STEPS}
        rounds.append(per_buyer)
        print(
            f"round {r + 1}: CPU ms "
            + "  ".join(f"{step} {per_buyer[step][1]:.2f}" for step in STEPS)
            + f"  total {sum(per_buyer[s][1] for s in STEPS):.2f}"
        )
    print(f"\nper buyer, median of {args.rounds} rounds of {args.buyers} buyers:")
    for step in STEPS:
        wall = statistics.median(r[step][0] for r in rounds)
        cpu = statistics.median(r[step][1] for r in rounds)
        print(f"{LABELS[step]:40s} wall {wall:6.2f} ms   CPU {cpu:6.2f} ms")
    total = statistics.median(sum(r[s][1] for s in STEPS) for r in rounds)
    print(f"{'one purchase':40s} {'':16s} CPU {total:6.2f} ms")
    if profiler is not None:
        profiler.dump_stats(f"purchase-{args.profile}.pstats")
        print(f"profile of {args.profile}: purchase-{args.profile}.pstats")
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
