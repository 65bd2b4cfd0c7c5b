"""What bench/faults.py checks after each fault: was anything acknowledged lost?

"Acknowledged", precisely:
- a **completion** is acknowledged when a beacon's 200 reply said `chapter_done: true`;
  it must then be in PostgreSQL (`chapter_progress.completed_at` set);
- **progress** is acknowledged by a beacon's 200 reply (`watched_seconds`) and **flushed**
  once the write-behind flusher has written it to PostgreSQL. Flushed progress must never
  go backwards: neither in PostgreSQL (the final value is at least what was there before
  the fault) nor in what the service tells the player afterwards (no reply after the fault
  says less than PostgreSQL had before it). Progress acknowledged but not yet flushed may
  lose what Redis had not written to its AOF (appendfsync everysec: about the last second)
  when Redis crashes; that is reported separately ("unflushed progress set back"), as
  the write-behind design allows (docs/architecture.md);
- a **payment** is acknowledged when /pay/notify answered 204 (or the client saw the order
  paid): the order is SUCCESS, every trainee of it has exactly one enrollment in the plan,
  and there is exactly one payment_succeeded outbox row for it;
- and nothing is **half-written**: no order without its items, no paid order without
  enrollments, no enrollment pointing at an order that is not paid.
"""

from __future__ import annotations

import time
from contextlib import closing

import redis
import sqlalchemy as sa

from bench.loadgen import Client


def engine_for(database_url: str) -> sa.Engine:
    return sa.create_engine(
        sa.engine.make_url(database_url).set(drivername="postgresql+psycopg"),
        pool_pre_ping=True,
    )


def flushed(engine: sa.Engine) -> dict[tuple[int, int], int]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT trainee_id, chapter_id, watched_seconds FROM chapter_progress")
        ).all()
    return {(r[0], r[1]): r[2] for r in rows}


def wait_drained(
    engine: sa.Engine, redis_url: str, seconds: float = 120, *, dirty_too: bool = False
) -> dict:
    """Until no outbox row is pending (and, once the load has stopped, nothing is left
    dirty for the flusher), or `seconds`. Under load there are always dirty chapters."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with closing(redis.Redis.from_url(redis_url)) as r:
                dirty = r.scard("progress:dirty")
            with engine.connect() as conn:
                outbox = dict(
                    conn.execute(
                        sa.text("SELECT status, count(*) FROM outbox GROUP BY status")
                    ).all()
                )
        except (redis.RedisError, sa.exc.OperationalError):
            dirty, outbox = -1, {"pending": -1}
        done = not outbox.get("pending") and (dirty == 0 or not dirty_too)
        if done or time.monotonic() > deadline:
            return {"dirty": dirty, "outbox": outbox}
        time.sleep(1)


INTEGRITY = {
    "orders without items": """
        SELECT count(*) FROM orders o
        WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)""",
    "paid orders missing an enrollment": """
        SELECT count(*) FROM orders o JOIN order_items i ON i.order_id = o.id
        WHERE o.status = 'SUCCESS' AND NOT EXISTS (
            SELECT 1 FROM enrollments e
            WHERE e.trainee_id = i.trainee_id AND e.plan_id = o.plan_id)""",
    "enrollments of an unpaid order": """
        SELECT count(*) FROM enrollments e JOIN orders o ON o.id = e.order_id
        WHERE o.status <> 'SUCCESS'""",
    "paid orders without exactly one payment_succeeded row": """
        SELECT count(*) FROM orders o WHERE o.status = 'SUCCESS' AND (
            SELECT count(*) FROM outbox x WHERE x.event_type = 'payment_succeeded'
            AND x.subject = 'order:' || o.out_trade_no) <> 1""",
}


def integrity(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.execute(sa.text(sql)).scalar() or 0 for name, sql in INTEGRITY.items()}


def lost(
    engine: sa.Engine, client: Client, before: dict[tuple[int, int], int], fault_at: float
) -> dict[str, int]:
    """Acknowledged things lost, by kind (every figure must be 0), and the allowed loss."""
    after = flushed(engine)
    with engine.connect() as conn:
        completed = set(
            map(
                tuple,
                conn.execute(
                    sa.text(
                        "SELECT trainee_id, chapter_id FROM chapter_progress"
                        " WHERE completed_at IS NOT NULL"
                    )
                ).all(),
            )
        )
        paid = dict(conn.execute(sa.text("SELECT out_trade_no, status FROM orders")).all())
    went_back = sum(1 for key, value in before.items() if after.get(key, 0) < value)
    told_less = sum(
        1
        for key, acks in client.history.items()
        if key in before and any(at > fault_at and w < before[key] for at, w in acks)
    )
    set_back, seconds = 0, 0
    for acks in client.history.values():
        prior = [w for at, w in acks if at <= fault_at]
        later = [w for at, w in acks if at > fault_at]
        if prior and later and later[0] < prior[-1]:
            set_back += 1
            seconds = max(seconds, prior[-1] - later[0])
    result = {
        "acknowledged completions missing in PostgreSQL": len(client.acked_done - completed),
        "flushed progress gone backwards in PostgreSQL": went_back,
        "replies below flushed progress": told_less,
        "paid orders (seen by the client) not paid": sum(
            1 for no in client.paid_orders if paid.get(no) != "SUCCESS"
        ),
        **integrity(engine),
    }
    result["LOST ACKNOWLEDGED"] = sum(result.values())
    result["(allowed) unflushed progress set back: chapters"] = set_back
    result["(allowed) ... at most seconds"] = seconds
    return result


def final(engine: sa.Engine, client: Client) -> dict[str, int]:
    """After the load stopped and the flusher drained: every chapter's last acknowledged
    progress is in PostgreSQL, and every acknowledged completion."""
    after = flushed(engine)
    behind = sum(1 for key, acks in client.history.items() if after.get(key, 0) < acks[-1][1])
    result = {
        "last acknowledged progress not in PostgreSQL": behind,
        "acknowledged completions missing in PostgreSQL": len(
            client.acked_done - {k for k in after if k in client.acked_done and _done(engine, k)}
        ),
        **integrity(engine),
    }
    result["LOST ACKNOWLEDGED"] = sum(result.values())
    return result


def _done(engine: sa.Engine, key: tuple[int, int]) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT 1 FROM chapter_progress WHERE trainee_id = :t AND chapter_id = :c"
                    " AND completed_at IS NOT NULL"
                ),
                {"t": key[0], "c": key[1]},
            ).first()
        )
