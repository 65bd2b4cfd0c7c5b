"""Benchmark of the progress beacon against a bare route of the same app, under gunicorn.

    .venv/bin/python -m bench.beacons [--learners 12000] [--connections 64] [--seconds 5]
                                      [--server gunicorn|granian]

Starts, on their own database and Redis index (BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/wxapp_bench_h2; BENCH_REDIS_URL, default
redis://127.0.0.1:6379/12): a fresh schema with one plan and `--learners` enrolled
trainees, gunicorn (bench.app: the app plus GET /_bench/ping), and the write-behind
flusher (`flask progress flush`) as production runs them. Then drives, with wrk (Debian
package `wrk`), in turn: the bare route as a GET, the bare route sent beacon-shaped
requests (same cookie, headers and body), and the beacons of all learners (each request the
next learner's next beacon, signed session cookies), and prints beacons/s, p50/p99, the
ratios to the bare route, the learners that throughput carries at one beacon per 15 s and
the CPU each process spent per request. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import redis
import sqlalchemy as sa

from bench.procstat import children, children_cpu, cpu_seconds, postgres_pids
from bench.stack import free_port, reset_database, server_argv, wait_for

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/wxapp_bench_h2"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
DB_NAME = sa.engine.make_url(DATABASE_URL).database or ""
CHAPTER_SECONDS = 1800
BARE = "GET /_bench/ping"
BARE_SHAPED = "POST /_bench/ping (beacon-shaped)"
BEACONS = "POST /api/beacons"
# Recommended for this 2-core machine: one process per core (plus one, so a worker waiting
# on PostgreSQL during a cold path does not idle a core), a few threads each to overlap the
# Redis round trip; gthread keeps client connections alive.
WORKERS, THREADS = 3, 4


def env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "bench-secret-key",
        "WXAPP_SANDBOX": "1",
        "PROGRESS_INPROCESS_FLUSH": "0",
    }


def seed(learners: int) -> list[dict]:
    """One plan, one course of five chapters, `learners` enrolled trainees with cookies."""
    os.environ.update(env())  # the factory reads its settings from the environment
    from models import Chapter, Course, PlanCourse, Trainee, TrainingPlan, db
    from tests.factories import session_cookie
    from wxapp.app import create_app
    from wxapp.orders.enrollments import grant_enrollments

    app = create_app()
    now = datetime.now(UTC)
    with app.app_context():
        plan = TrainingPlan(
            code="bench",
            year=now.year,
            kind="specialist",
            title="压测项目",
            required_hours=60,
            price_per_hour_fen=150,
        )
        course = Course(code="bench", title="压测课程", category="压测", hours=Decimal("30"))
        course.chapters = [
            Chapter(position=i, title=f"第{i}章", duration_s=CHAPTER_SECONDS, video_url="/x.mp4")
            for i in range(1, 6)
        ]
        plan.courses.append(PlanCourse(course=course, position=0))
        db.session.add(plan)
        db.session.flush()
        chapters = [c.id for c in course.chapters]
        db.session.execute(
            sa.insert(Trainee),
            [
                {
                    "name": f"学员{i}",
                    "id_number": f"B{i:017d}",
                    "must_change_password": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(learners)
            ],
        )
        ids = list(db.session.execute(sa.select(Trainee.id).order_by(Trainee.id)).scalars())
        grant_enrollments(ids, plan.id, now)  # as a paid (group) order would
        db.session.commit()
        result = [
            {"cookie": session_cookie(app, t), "chapter": chapters[i % len(chapters)]}
            for i, t in enumerate(ids)
        ]
        db.engine.dispose()
    app.extensions["redis"].close()
    return result


def write_learners(learners: list[dict], path: Path) -> None:
    lines = ["LEARNERS = {"]
    lines += [f'  {{cookie = "{x["cookie"]}", chapter = {x["chapter"]}}},' for x in learners]
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def warm_up(base: str, learners: list[dict], workers: int) -> None:
    """Every learner's first beacon, then the same beacon again through every other worker.

    The first is the learner's cold path (chapter and entitlement loads). The others (a
    replay: "stale", credits nothing) let every worker open the learner's session cookie
    once, as in steady state, where a learner's beacon reaches every worker within a minute
    or two and each worker keeps the cookies it has verified (wxapp/accounts/sessions.py). Without
    them, a learner's first beacon through each worker in the measured runs would pay
    the signature check that steady state never pays.
    """
    from concurrent.futures import ThreadPoolExecutor
    from http.client import HTTPConnection
    from urllib.parse import urlsplit

    netloc = urlsplit(base).netloc

    def ask_worker(_: int) -> tuple[int, HTTPConnection]:
        conn = HTTPConnection(netloc, timeout=30)
        conn.request("GET", "/_bench/worker")
        return json.loads(conn.getresponse().read())["pid"], conn

    # A kept-alive connection stays with the worker that accepted it: collect one a worker.
    # Connections opened one at a time may all go to the same idle worker; opened together,
    # as wrk opens them, they spread.
    by_worker: dict[int, HTTPConnection] = {}
    for _ in range(20):
        with ThreadPoolExecutor(8 * workers) as pool:
            for pid, conn in pool.map(ask_worker, range(8 * workers)):
                if pid in by_worker:
                    conn.close()
                else:
                    by_worker[pid] = conn
        if len(by_worker) == workers:
            break
    else:
        raise SystemExit(f"warm-up reached {len(by_worker)} of {workers} workers")

    def send(conn: HTTPConnection, chunk: list[dict]) -> None:
        for learner in chunk:
            body = json.dumps(
                {
                    "chapter_id": learner["chapter"],
                    "play_id": "bench",
                    "seq": 0,
                    "from": 0,
                    "to": 0,
                    "position": 0,
                }
            )
            headers = {"Content-Type": "application/json", "Cookie": learner["cookie"]}
            conn.request("POST", "/api/beacons", body, headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"warm-up beacon answered {response.status}")
        conn.close()

    # Each worker's connection goes through all learners, starting at a different place:
    # the first beacon of each learner (its cold path) is spread over the workers.
    conns = list(by_worker.values())
    step = len(learners) // len(conns)
    with ThreadPoolExecutor(len(conns)) as pool:
        rotated = [learners[i * step :] + learners[: i * step] for i in range(len(conns))]
        list(pool.map(send, conns, rotated))


def wrk(args: list[str]) -> dict:
    out = subprocess.run(["wrk", *args], capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    result["per_s"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Enough that no learner passes the beacon rate limit (30 a minute) at ~6,000 beacons/s
    # over a minute of runs: a 429 costs less than a beacon and would flatter the figure.
    parser.add_argument("--learners", type=int, default=12000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn workers")
    parser.add_argument("--gthreads", type=int, default=THREADS, help="gunicorn threads")
    parser.add_argument(
        "--worker-class",
        default="gthread",
        help="gunicorn worker class (gevent needs gevent installed)",
    )
    parser.add_argument(
        "--server",
        choices=("gunicorn", "granian"),
        default="gunicorn",
        help="granian: its WSGI workers, --gthreads blocking threads each",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="bare and beacon runs alternate, this many times"
    )
    opts = parser.parse_args()
    gunicorn = ["--workers", str(opts.workers), "--worker-class", opts.worker_class]
    if opts.worker_class == "gthread":
        gunicorn += ["--threads", str(opts.gthreads)]
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    reset_database(DATABASE_URL, env())
    with closing(redis.Redis.from_url(REDIS_URL)) as r:
        r.flushdb()
    learners = seed(opts.learners)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    if opts.server == "granian":
        web = server_argv("granian", port, opts.workers, opts.gthreads, "bench.app:app")
    else:
        web = [str(BIN / "gunicorn"), *gunicorn, "--bind", f"127.0.0.1:{port}"]
        web += ["--log-level", "warning", "bench.app:app"]
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        learners_lua = Path(tmp) / "learners.lua"
        write_learners(learners, learners_lua)
        try:
            procs.append(
                subprocess.Popen(
                    web,
                    cwd=ROOT,
                    env=env(),
                )
            )
            procs.append(
                subprocess.Popen(
                    [str(BIN / "flask"), "--app", "wsgi", "progress", "flush"],
                    cwd=ROOT,
                    env=env(),
                    stdout=subprocess.DEVNULL,
                )
            )
            wait_for(f"{base}/_bench/ping")
            common = ["-t", str(opts.threads), "-c", str(opts.connections), "--latency"]
            beacon_args = [
                "-s",
                str(ROOT / "bench" / "beacons.lua"),
                base,
                "--",
                str(learners_lua),
                str(opts.threads),
                str(CHAPTER_SECONDS),
            ]
            warm_up(base, learners, opts.workers)
            kinds = {
                BARE: lambda n: ["-s", str(ROOT / "bench" / "bare.lua"), f"{base}/_bench/ping"],
                BARE_SHAPED: lambda n: [*beacon_args, str(n * 10**6), "/_bench/ping"],
                BEACONS: lambda n: [*beacon_args, str(n * 10**6)],
            }
            parts = {
                "web workers": lambda: children(procs[0].pid),
                "flusher": lambda: [procs[1].pid],
                "postgres (bench db)": lambda: postgres_pids(DB_NAME),
                "redis-server (shared)": lambda: [redis_pid],
            }
            with closing(redis.Redis.from_url(REDIS_URL)) as r:
                redis_pid = int(r.info("server")["process_id"])
            runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
            cpu = {kind: dict.fromkeys([*parts, "wrk"], 0.0) for kind in kinds}
            # Alternating short runs: other load on a shared machine hits all kinds alike.
            for n in range(1, opts.rounds + 1):
                for kind, args in kinds.items():
                    before = {k: cpu_seconds(f()) for k, f in parts.items()}
                    wrk_before = children_cpu()
                    result = wrk([*common, "-d", f"{opts.seconds}s", *args(n)])
                    for k, f in parts.items():
                        cpu[kind][k] += cpu_seconds(f()) - before[k]
                    cpu[kind]["wrk"] += children_cpu() - wrk_before
                    runs[kind].append(result)
            time.sleep(3)  # let the flusher drain
            with closing(redis.Redis.from_url(REDIS_URL)) as r:
                dirty = r.scard("progress:dirty")
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(15)
    if not report(opts, web[:-1], runs, cpu, dirty):
        raise SystemExit(1)


def report(opts, web: list[str], runs: dict, cpu: dict, dirty: int) -> bool:
    """Print the figures; False when some request was refused (the figures do not hold)."""
    print(
        f"{' '.join(Path(a).name if a.startswith('/') else a for a in web)}; wrk -t{opts.threads} -c{opts.connections}; "
        f"{opts.rounds} x {opts.seconds}s each; {opts.learners} learners; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}"
    )
    for i in range(opts.rounds):
        for kind, results in runs.items():
            r = results[i]
            print(
                f"round {i + 1} {kind:28s} {r['per_s']:6.0f} req/s  p50 {r['p50_us'] / 1000:6.1f}"
                f" ms  p99 {r['p99_us'] / 1000:6.1f} ms  non-2xx {r['non_2xx']}  errors {r['errors']}"
            )

    def rate(results: list[dict]) -> float:
        return sum(r["requests"] for r in results) / sum(r["duration_us"] / 1e6 for r in results)

    rates = {kind: rate(results) for kind, results in runs.items()}
    beacons = runs[BEACONS]
    p50 = statistics.median(r["p50_us"] for r in beacons) / 1000
    p99 = statistics.median(r["p99_us"] for r in beacons) / 1000
    print(f"beacons/s                      {rates[BEACONS]:.0f}")
    for kind in (BARE, BARE_SHAPED):
        print(
            f"ratio to {kind:21s} {rates[BEACONS] / rates[kind]:.2f}"
            f"  ({rates[kind]:.0f} req/s; target >= 0.6)"
        )
    print(
        f"beacon latency                 p50 {p50:.1f} ms, p99 {p99:.1f} ms (median of rounds;"
        f" target p99 < 100 ms at {opts.connections} connections)"
    )
    print(f"learners carried at one beacon / 15 s: {rates[BEACONS] * 15:,.0f}")
    print(f"dirty chapters left after the run: {dirty}")
    refused = sum(r["non_2xx"] + r["errors"] for results in runs.values() for r in results)
    if refused:
        print(f"INVALID RUN: {refused} requests were not answered 2xx (rate-limited learners?)")
    print("CPU per request (ms), by process:")
    for kind, parts in cpu.items():
        requests = sum(r["requests"] for r in runs[kind])
        detail = ", ".join(f"{k} {v * 1000 / requests:.3f}" for k, v in parts.items())
        print(f"  {kind:28s} {detail}")
    return not refused


if __name__ == "__main__":
    main()
