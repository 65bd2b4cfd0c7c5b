"""The scale-out layout on real engines: nginx in front of two app nodes, Redis Cluster
(three masters, three replicas), PostgreSQL with a streaming replica. Run by
`make test-cluster` (scripts/cluster/test-cluster.sh builds the layout first).

The core flows go through nginx and land on both nodes; then a Redis master is failed
over (CLUSTER FAILOVER), another killed, and an app node killed, under beacon load:
nothing acknowledged is lost and the learners carry on through the other node.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.cluster.conftest import BeaconLog, Phone, play, sql

YEAR = datetime.now().year


def phone(layout: dict, index: int) -> Phone:
    tid, id_number, openid = layout["seed"]["trainees"][index]
    return Phone(layout["base"], tid, id_number, openid)


def course_chapters(layout: dict, course: int) -> list[int]:
    return layout["seed"]["chapters"][course * 3 : course * 3 + 3]


def inbox(cluster, openid: str) -> list[str]:
    return cluster.lrange(f"sandbox:inbox:{openid}", 0, -1)


def wait(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"{what}: not within {seconds}s")


def test_login_and_wechat_oauth_through_nginx_on_both_nodes(layout):
    a = phone(layout, 0)
    a.login(layout["seed"]["password"])
    for _ in range(6):  # nginx spreads them; each node reads the same signed cookie
        assert a.get("/api/me").json()["id"] == a.tid

    # 网页授权 through the sandbox: a bound WeChat user is logged in without a password.
    b = phone(layout, 1)
    start = b.get("/auth/wechat?next=/h5/orders", allow_redirects=False)
    assert start.status_code == 302
    authorize = urlsplit(start.headers["Location"])
    query = parse_qs(authorize.query)
    consent = requests.post(
        layout["sandbox"] + authorize.path,
        data={
            "redirect_uri": query["redirect_uri"][0],
            "state": query["state"][0],
            "openid": b.openid,
        },
        allow_redirects=False,
        timeout=10,
    )
    back = consent.headers["Location"]
    assert back.startswith(layout["base"] + "/auth/wechat/return?")
    finish = b.http.get(back, allow_redirects=False, timeout=10)
    assert finish.status_code == 302 and finish.headers["Location"].endswith("/h5/orders")
    assert b.get("/api/me").json()["id"] == b.tid

    used = set(re.findall(r" (127\.0\.0\.1:\d+)$", access_log(layout), re.M))
    assert {f"127.0.0.1:{p}" for p in layout["node_ports"]} <= used


def test_nginx_lets_an_invoice_pdf_reach_the_console_and_nothing_as_big_elsewhere(layout):
    """财务 uploads invoice PDFs of up to 5 MB to /admin; everywhere else nginx keeps 2 MB."""
    pdf = b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024 - 16)
    upload = requests.post(
        f"{layout['base']}/admin/invoices/1/issue",
        data=pdf,
        headers={"Content-Type": "application/pdf"},
        allow_redirects=False,
        timeout=30,
    )
    # The app answers (here without the console: not found, or too large for a route it
    # does not have); nginx's own refusal is an HTML page naming it.
    assert "nginx" not in upload.text, upload.text
    elsewhere = requests.post(
        f"{layout['base']}/api/orders", data=pdf[: 3 * 1024 * 1024], timeout=30
    )
    assert elsewhere.status_code == 413 and "nginx" in elsewhere.text


def test_a_refused_body_is_the_apps_answer_and_takes_no_node_out(layout):
    """Any client may POST 1.5 MB to the login or the beacon; the app refuses it unread.

    gunicorn used to close such a connection with the body unread: nginx, still sending it,
    got a reset, answered 502 and set the node aside for fail_timeout (max_fails=1), so two
    such POSTs left no node for anyone.
    """
    log = Path(layout["dir"]) / "nginx" / "logs" / "error.log"
    seen = log.stat().st_size
    body = b"x" * (3 * 1024 * 1024 // 2)
    for path in ("/api/login", "/api/beacons") * 4:
        res = requests.post(
            f"{layout['base']}{path}",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert res.status_code == 413, res.text
        assert res.json()["error"] == "too_large"
    with log.open() as f:
        f.seek(seen)
        assert "upstream" not in f.read()


def access_log(layout: dict) -> str:
    return (Path(layout["dir"]) / "nginx" / "logs" / "access.log").read_text()


def test_beacons_learn_a_course_and_a_paid_order_is_pushed_once(layout, cluster):
    a, b = phone(layout, 0), phone(layout, 1)
    a.login(layout["seed"]["password"])
    b.login(layout["seed"]["password"])

    # b buys the plan on sale while a learns.
    order = b.post("/api/orders", json={"plan_id": layout["seed"]["buy_plan"]})
    assert order.status_code == 201, order.text
    no = order.json()["out_trade_no"]
    assert b.post(f"/api/orders/{no}/pay", json={"method": "jsapi"}).status_code == 200
    cashier = requests.post(
        layout["sandbox"] + "/_sandbox/pay/cashier",
        data={"out_trade_no": no, "action": "pay"},
        timeout=10,
    )
    assert cashier.status_code == 200

    log, stop = BeaconLog(), threading.Event()
    chapters = course_chapters(layout, 0)
    play(a, chapters, layout["seed"]["chapter_seconds"], log, stop, every=2.0)
    assert {(a.tid, c) for c in chapters} <= log.done

    progress = a.get("/api/me/progress").json()
    states = {c["id"]: c["state_name"] for p in progress["plans"] for c in p["courses"]}
    assert "已学完" in states.values(), progress
    rows = sql(
        layout["database_url"],
        "SELECT count(*) FROM course_completions WHERE trainee_id = %s",
        a.tid,
    )
    assert rows[0][0] == 1

    assert wait(lambda: b.get(f"/api/orders/{no}").json()["status"] == "SUCCESS", 20, "paid")
    wait(lambda: len(inbox(cluster, b.openid)) >= 1, 20, "the payment push")
    wait(lambda: len(inbox(cluster, a.openid)) >= 1, 20, "the course push")
    time.sleep(3)  # a second send would land within a few polls
    assert len(inbox(cluster, b.openid)) == 1
    assert all(s == "sent" for (s,) in sql(
        layout["database_url"], "SELECT status FROM outbox WHERE trainee_id = %s", b.tid
    ))  # fmt: skip


def test_unit_report_is_read_from_the_replica_within_its_staleness_bound(layout):
    admin = phone(layout, 0)
    admin.login(layout["seed"]["password"])
    replica, primary = layout["read_url"], layout["database_url"]
    path = f"/api/units/{layout['seed']['unit_id']}/report?year={YEAR}"
    res = admin.get(path)
    assert res.status_code == 200
    assert res.json()["summary"]["trainees"] == len(layout["seed"]["trainees"])
    assert (
        sql(replica, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'wxapp-read'")[
            0
        ][0]
        >= 1
    )

    # The replica stops replaying just after a commit it has seen; a name changed on the
    # primary then shows only when the replica has fallen behind by more than the bound
    # (DATABASE_READ_MAX_LAG_S=3 here): first the replica's page, then the primary's.
    victim = phone(layout, 5)
    names = lambda: {t["name"] for t in admin.get(path).json()["trainees"]}  # noqa: E731
    sql(primary, "UPDATE trainees SET updated_at = now() WHERE id = %s", victim.tid)
    time.sleep(0.5)
    sql(replica, "SELECT pg_wal_replay_pause()")
    try:
        sql(primary, "UPDATE trainees SET name = '改名学员' WHERE id = %s", victim.tid)
        time.sleep(0.7)  # past DATABASE_READ_CHECK_S: the app has seen the replica behind
        assert "改名学员" not in names()  # within the bound: the replica's (older) page
        time.sleep(3.5)
        assert "改名学员" in names()  # past it: read from the primary
    finally:
        sql(replica, "SELECT pg_wal_replay_resume()")
    wait(
        lambda: "改名学员" in {r[0] for r in sql(replica, "SELECT name FROM trainees")},
        10,
        "replay",
    )


def test_failover_and_a_killed_node_lose_nothing_acknowledged(layout, cluster):
    seconds = layout["seed"]["chapter_seconds"]
    phones = [phone(layout, i) for i in range(10, 30)]
    for p in phones:
        p.login(layout["seed"]["password"])
    log, stop = BeaconLog(), threading.Event()
    threads = [
        threading.Thread(
            target=play,
            args=(p, course_chapters(layout, i % 4), seconds, log, stop),
            kwargs={"every": 2.0},
            daemon=True,
        )
        for i, p in enumerate(phones)
    ]
    for t in threads:
        t.start()
    time.sleep(5)
    flushed_before = flushed(layout, [p.tid for p in phones])

    # 1. A graceful failover: a replica takes over its master (CLUSTER FAILOVER).
    ports = layout["redis_ports"]
    replica_port = next(p for p in ports if role(p) == "slave")
    t_failover = time.monotonic()
    redis_cli(replica_port, "cluster", "failover")
    wait(lambda: role(replica_port) == "master", 20, "CLUSTER FAILOVER")
    time.sleep(4)

    # 2. A master killed outright (SIGKILL): its replica is promoted after node-timeout.
    master_port = next(p for p in ports if role(p) == "master" and p != replica_port)
    lost_slots = owned_slots(master_port)
    t_kill = time.monotonic()
    os.kill(layout["pids"][f"redis-{master_port}"], signal.SIGKILL)
    wait(lambda: cluster_ok(ports, master_port), 30, "the killed master's replica promoted")
    time.sleep(4)

    # 3. One app node killed: nginx sends the learners to the other.
    t_node = time.monotonic()
    os.killpg(layout["pids"]["node1"], signal.SIGKILL)
    time.sleep(8)
    stop.set()
    for t in threads:
        t.join(30)

    after_node = [t for t in log.ok_times if t > t_node + 2]
    assert len(after_node) > 20, "learners did not carry on through the other node"
    print_figures(log, t_failover, t_kill, t_node)

    # Nothing acknowledged is lost: completions are in the database (written before the
    # reply), and flushed progress never went back.
    for tid, chapter in log.done:
        (row,) = sql(
            layout["database_url"],
            "SELECT completed_at IS NOT NULL FROM chapter_progress"
            " WHERE trainee_id = %s AND chapter_id = %s",
            tid,
            chapter,
        )
        assert row[0], (tid, chapter)
    time.sleep(3)  # the flusher's next rounds
    flushed_after = flushed(layout, [p.tid for p in phones])
    for key, watched in flushed_before.items():
        assert flushed_after.get(key, 0) >= watched, key
    # Every acknowledged second reaches the database, except on the killed master's slots
    # (Redis replicates asynchronously: there only what was flushed is kept, checked above).
    kept = {
        key: watched
        for key, watched in log.acked.items()
        if cluster.keyslot(f"{{t:{key[0]}}}:ch:{key[1]}") not in lost_slots
    }
    assert kept, "every learner was on the killed master"
    behind = {
        k: (v, flushed_after.get(k, 0)) for k, v in kept.items() if flushed_after.get(k, 0) < v
    }
    assert not behind, behind


def owned_slots(port: int) -> set[int]:
    mine = next(
        line for line in redis_cli(port, "cluster", "nodes").splitlines() if "myself" in line
    )
    slots: set[int] = set()
    for part in mine.split()[8:]:
        low, _, high = part.partition("-")
        slots.update(range(int(low), int(high or low) + 1))
    return slots


def flushed(layout: dict, tids: list[int]) -> dict:
    rows = sql(
        layout["database_url"],
        "SELECT trainee_id, chapter_id, watched_seconds FROM chapter_progress"
        " WHERE trainee_id = ANY(%s)",
        tids,
    )
    return {(t, c): w for t, c, w in rows}


def redis_cli(port: int, *args: str) -> str:
    import subprocess

    return subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, check=False
    ).stdout.strip()


def role(port: int) -> str:
    out = redis_cli(port, "role")
    return out.splitlines()[0] if out else "down"


def cluster_ok(ports: list[int], dead: int) -> bool:
    alive = [p for p in ports if p != dead]
    masters = [p for p in alive if role(p) == "master"]
    return len(masters) == 3 and all(
        "cluster_state:ok" in redis_cli(p, "cluster", "info") for p in alive
    )


def print_figures(log: BeaconLog, t_failover: float, t_kill: float, t_node: float) -> None:
    def window(start: float, end: float) -> str:
        refused = [t for t, _ in log.refused if start <= t < end]
        if not refused:
            return "0 beacons refused"
        return f"{len(refused)} beacons refused over {refused[-1] - refused[0]:.1f}s"

    figures = (
        f"CLUSTER FAILOVER: {window(t_failover, t_kill)}; "
        f"killed master: {window(t_kill, t_node)}; "
        f"killed app node: {window(t_node, float('inf'))}; "
        f"acknowledged: {len(log.ok_times)} beacons, {len(log.done)} chapters learned"
    )
    print("\nFAILOVER FIGURES:", figures)
    figures_file = os.environ.get("CLUSTER_FIGURES")
    if figures_file:
        Path(figures_file).write_text(figures + "\n")
