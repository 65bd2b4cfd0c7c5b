"""CPU of one year-end arrival (我的进度, then the player's first beacon), in-process.

    .venv/bin/python -m bench.arrival

Runs the app in this process (Flask's test client, no HTTP, no concurrency) against the
database the last `bench.rush` left (BENCH_DATABASE_URL, default wxapp_bench_rush: its
trainees with their seeded progress) and an emptied Redis index (BENCH_ARRIVAL_REDIS_URL,
default index 12), so every trainee arrives cold. Prints, per request kind, the wall time
and the CPU time of this process (PostgreSQL's and Redis's own CPU are not in it) beyond
what giving the client a session costs. docs/performance.md has the figures.
"""

from __future__ import annotations

import os
import time

import redis
import sqlalchemy as sa

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/wxapp_bench_rush"
)
REDIS_URL = os.environ.get("BENCH_ARRIVAL_REDIS_URL", "redis://127.0.0.1:6379/12")


def main() -> None:
    os.environ.update(
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        SECRET_KEY="bench-arrival-secret-key",
        WXAPP_SANDBOX="1",
        PROGRESS_INPROCESS_FLUSH="0",
        NOTIFY_INPROCESS="0",
    )
    from models import db
    from tests.factories import sign_in
    from wxapp.app import create_app

    app = create_app()
    with app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT trainee_id, chapter_id FROM chapter_progress ORDER BY trainee_id LIMIT 600"
            )
        ).all()
    if len(rows) < 600:
        raise SystemExit("run bench.rush first: its database has too few trainees")
    redis.Redis.from_url(REDIS_URL).flushdb()
    client = app.test_client()

    def run(batch, progress: bool, beacon: bool) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for tid, chapter in batch:
            sign_in(client, tid)
            if progress:
                assert client.get("/api/me/progress").status_code == 200
            if beacon:
                reply = client.post(
                    "/api/beacons",
                    json={
                        "chapter_id": chapter,
                        "play_id": f"a{tid}",
                        "seq": 0,
                        "from": 0,
                        "to": 0,
                        "position": 0,
                    },
                )
                assert reply.status_code == 200, reply.get_json()
        n = len(batch)
        return (time.perf_counter() - wall) / n * 1000, (time.process_time() - cpu) / n * 1000

    run(rows[:50], True, True)  # warm: imports, pools, prepared statements
    base_wall, base_cpu = run(rows[50:200], False, False)
    for label, batch, progress, beacon in [
        ("我的进度 (cold)", rows[200:400], True, False),
        ("first beacon, no 我的进度 before it", rows[400:600], False, True),
        ("first beacon after 我的进度", rows[200:400], False, True),
    ]:
        wall, cpu = run(batch, progress, beacon)
        print(f"{label:36s} wall {wall - base_wall:6.2f} ms   CPU {cpu - base_cpu:6.2f} ms")


if __name__ == "__main__":
    main()
