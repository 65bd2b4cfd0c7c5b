"""The whole service as production runs it, for bench/rush.py and bench/faults.py.

`Stack` starts and stops, on a database and a Redis of the caller's choosing: gunicorn
(`wsgi:app`, the recommended 3 gthread workers x 4 threads, PROXY_COUNT=1 as behind
nginx), the write-behind flusher (`flask progress flush`) and the notification worker
(`flask notify worker`). The app runs with the built-in sandbox (WXAPP_SANDBOX=1) as
WeChat and WeChat Pay, served by a SECOND gunicorn (same app, its own port) that the
`*_API_BASE` settings point at, as the real APIs are other servers. Pointing them at the
service's own gunicorn (the sandbox default) deadlocks under load: every thread ends up
waiting, in a prepay, for a sandbox answer that needs a free thread of the same pool
(measured: a burst of 20 buyers turned into 10 s timeouts and 503s).

`seed` fills a fresh schema in bulk: one plan every trainee is enrolled in (through
`grant_enrollments`), made of short chapters so completions happen during a run, one plan
on sale to buy, and `n` trainees, each with a WeChat binding (openid `o_bench_<id>`) and
the signed session cookie the 网页授权 login would have given them.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from tests.pgreset import empty_database

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "Bench-rush-2026"
CHAPTER_SECONDS = 60  # short chapters: completions (and their pushes) happen within a run
CHAPTERS_PER_COURSE = 3
COURSES = 4
WORKERS, THREADS = 3, 4  # docs/performance.md's recommendation for 2 cores


def server_argv(server: str, port: int, workers: int, threads: int, app: str) -> list[str]:
    """The command that serves `app` on 127.0.0.1:`port`: gunicorn's gthread workers (what
    production runs), or granian's WSGI workers with as many blocking threads, the
    alternative the rush measures (docs/performance.md)."""
    if server == "granian":
        return [
            *(str(BIN / "granian"), "--interface", "wsgi", "--workers", str(workers)),
            *("--blocking-threads", str(threads), "--host", "127.0.0.1", "--port", str(port)),
            *("--log-level", "warning", app),
        ]
    return [
        *(str(BIN / "gunicorn"), "--workers", str(workers), "--worker-class", "gthread"),
        *("--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning"),
        app,
    ]


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not come up")


def reset_database(database_url: str, env: dict[str, str]) -> None:
    """Create the database if missing, empty its schema, run the migrations."""
    empty_database(database_url, name_must_contain="bench")
    subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


@dataclass
class Stack:
    database_url: str
    redis_url: str
    port: int = field(default_factory=free_port)
    sandbox_port: int = field(default_factory=free_port)
    workers: int = WORKERS
    threads: int = THREADS
    server: str = "gunicorn"  # or "granian": the web server of the service (not the sandbox)
    # A pool of its own for the player (docs/performance.md: measured, not adopted):
    # beacons and presence answers served by a second gunicorn group of this many workers,
    # as nginx could route them; 0: one group serves everything. main_nice lowers the
    # other group's CPU priority.
    beacon_workers: int = 0
    beacon_port: int = field(default_factory=free_port)
    main_nice: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sandbox(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": "bench-rush-secret-key",
            "WXAPP_SANDBOX": "1",
            "PUBLIC_BASE_URL": self.base,
            "WECHAT_API_BASE": f"{self.sandbox}/_sandbox",
            "WECHAT_OAUTH_BASE": f"{self.sandbox}/_sandbox",
            "WECHATPAY_API_BASE": f"{self.sandbox}/_sandbox",
            "PROXY_COUNT": "1",
            "PROGRESS_INPROCESS_FLUSH": "0",
            "NOTIFY_INPROCESS": "0",
            **self.extra_env,
        }

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.env(), stdout=log, stderr=log)
        log.close()
        self.procs[name] = proc
        return proc

    def _serve(self, name: str, port: int, workers: int, threads: int, server: str) -> None:
        self._spawn(name, server_argv(server, port, workers, threads, "wsgi:app"))
        wait_for(f"http://127.0.0.1:{port}/healthz")

    @property
    def player_base(self) -> str:
        """Where the player's requests go: the beacon pool if there is one."""
        return f"http://127.0.0.1:{self.beacon_port}" if self.beacon_workers else self.base

    def start_web(self) -> None:
        argv = server_argv(self.server, self.port, self.workers, self.threads, "wsgi:app")
        if self.main_nice:
            argv = ["nice", "-n", str(self.main_nice), *argv]
        self._spawn("web", argv)
        wait_for(f"{self.base}/healthz")
        if self.beacon_workers:
            self._serve("beacons", self.beacon_port, self.beacon_workers, self.threads, self.server)

    def start_sandbox(self) -> None:
        """WeChat's side: one process, enough threads for slow answers (slow_ms)."""
        self._serve("sandbox", self.sandbox_port, 1, 32, "gunicorn")

    def start_flusher(self) -> None:
        self._spawn("flusher", [str(BIN / "flask"), "--app", "wsgi", "progress", "flush"])

    def start_notifier(self) -> None:
        self._spawn("notifier", [str(BIN / "flask"), "--app", "wsgi", "notify", "worker"])

    def start(self) -> None:
        self.start_sandbox()
        self.start_web()
        self.start_flusher()
        self.start_notifier()

    def web_workers(self) -> list[int]:
        from bench.procstat import children

        groups = [self.procs[name].pid for name in ("web", "beacons") if name in self.procs]
        return [pid for group in groups for pid in children(group)]

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


@dataclass(frozen=True)
class Trainee:
    tid: int
    id_number: str
    cookie: str
    openid: str
    ip: str
    start_chapter: int = 0  # index into Seeded.chapters where this trainee resumes
    start_at: int = 0  # seconds of that chapter already watched (seeded progress)


@dataclass(frozen=True)
class Seeded:
    learn_plan: int
    buy_plan: int
    chapters: list[int]  # of the learning plan, course by course
    trainees: list[Trainee]
    chapter_seconds: int = CHAPTER_SECONDS


def id_number(n: int) -> str:
    from wxapp.accounts.idnumbers import check_char

    day = datetime(1970, 1, 1) + timedelta(days=n // 999)
    first17 = f"500231{day:%Y%m%d}{n % 999 + 1:03d}"
    return first17 + check_char(first17)


def seed(
    env: dict[str, str], n: int, chapter_seconds: int = CHAPTER_SECONDS, resume: bool = False
) -> Seeded:
    """A fresh catalogue and `n` enrolled, bound trainees (bulk inserts). With `resume`,
    each trainee has already watched part of one chapter (a random chapter, from 0 to a
    random point short of 95 %), where they resume: completions then come at the rate real
    chapters give them, however long the chapters are."""
    os.environ.update(env)  # the factory reads its settings from the environment
    from models import (
        Chapter,
        ChapterProgress,
        Course,
        PlanCourse,
        TrainingPlan,
        WechatBinding,
        db,
    )
    from models import Trainee as TraineeRow
    from tests.factories import session_cookie
    from wxapp.accounts.passwords import hash_password
    from wxapp.app import create_app
    from wxapp.orders.enrollments import grant_enrollments

    app = create_app()
    now = datetime.now(UTC)
    with app.app_context():
        learn = TrainingPlan(
            code="rush-learn",
            year=now.year,
            kind="specialist",
            title="年末冲刺专业科目",
            required_hours=60,
            price_per_hour_fen=150,
        )
        for c in range(COURSES):
            course = Course(
                code=f"rush-{c}", title=f"冲刺课程{c + 1}", category="专业", hours=Decimal(3)
            )
            course.chapters = [
                Chapter(
                    position=i,
                    title=f"第{i}章",
                    duration_s=chapter_seconds,
                    video_url="/static/media/x.mp4",
                )
                for i in range(1, CHAPTERS_PER_COURSE + 1)
            ]
            learn.courses.append(PlanCourse(course=course, position=c))
        buy = TrainingPlan(
            code="rush-buy",
            year=now.year,
            kind="public",
            title="年末冲刺公需科目",
            required_hours=30,
            price_per_hour_fen=150,
        )
        buy.courses.append(
            PlanCourse(
                course=Course(
                    code="rush-buy", title="公需课程", category="公需", hours=Decimal(30)
                ),
                position=0,
            )
        )
        db.session.add_all([learn, buy])
        db.session.flush()
        chapters = [ch.id for pc in learn.courses for ch in pc.course.chapters]
        pw_hash = hash_password(PASSWORD)  # one hash for all: seeding stays fast
        db.session.execute(
            sa.insert(TraineeRow),
            [
                {
                    "name": f"学员{i}",
                    "id_number": id_number(i),
                    "password_hash": pw_hash,
                    "must_change_password": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n)
            ],
        )
        rows = db.session.execute(
            sa.select(TraineeRow.id, TraineeRow.id_number).order_by(TraineeRow.id)
        ).all()
        ids = [r.id for r in rows]
        db.session.execute(
            sa.insert(WechatBinding),
            [
                {"openid": f"o_bench_{t}", "trainee_id": t, "following": True, "bound_at": now}
                for t in ids
            ],
        )
        grant_enrollments(ids, learn.id, now)
        rng = random.Random(7)
        starts = {
            t: (rng.randrange(len(chapters)), rng.randrange(int(chapter_seconds * 0.95)))
            if resume
            else (0, 0)
            for t in ids
        }
        if resume:
            db.session.execute(
                sa.insert(ChapterProgress),
                [
                    {
                        "trainee_id": t,
                        "chapter_id": chapters[k],
                        "intervals": [[0, p]] if p else [],
                        "watched_seconds": p,
                        "position": p,
                        "updated_at": now,
                    }
                    for t, (k, p) in starts.items()
                ],
            )
        db.session.commit()
        trainees = [
            Trainee(
                tid=r.id,
                id_number=r.id_number,
                cookie=session_cookie(app, r.id),
                openid=f"o_bench_{r.id}",
                ip=f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
                start_chapter=starts[r.id][0],
                start_at=starts[r.id][1],
            )
            for i, r in enumerate(rows)
        ]
        result = Seeded(learn.id, buy.id, chapters, trainees, chapter_seconds)
        db.engine.dispose()
    app.extensions["redis"].close()
    return result
