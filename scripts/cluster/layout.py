"""The scale-out layout, built from nothing on this machine, and torn down again.

`python scripts/cluster/layout.py up DIR` starts, everything under DIR:
- Redis Cluster: three masters and three replicas (ports 7001-7006 by default), AOF
  everysec, made with `redis-cli --cluster create --cluster-replicas 1`;
- PostgreSQL 15: a primary (5433, wal_level=replica) and a streaming replica made from it
  with `pg_basebackup -R` (5434), both run as the postgres OS user;
- the schema (`flask db upgrade`) and a seeded catalogue, unit and trainees (bench/stack.py);
- WeChat's side: the built-in sandbox in a gunicorn of its own (as the real APIs are other
  servers);
- two app nodes (two gunicorn groups, 8001 and 8002), one progress flusher and two
  notification workers, all on the cluster settings (REDIS_URL=redis+cluster://...,
  DATABASE_READ_URL = the replica);
- nginx (deploy/nginx/wxapp.conf, made local) on 18080 in front of both nodes.
It writes DIR/layout.json (ports, URLs, pids, the seeded ids) for tests/cluster.
`python scripts/cluster/layout.py apps-down DIR` stops only the app processes (the engines
stay up); `python scripts/cluster/layout.py down DIR` stops everything it started (by the pids it
recorded) and leaves DIR to the caller. The machine's own PostgreSQL (5432) and Redis
(6379) are never touched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))

REDIS_PORTS = [int(os.environ.get("CLUSTER_REDIS_BASE", 7001)) + i for i in range(6)]
PG_PRIMARY = int(os.environ.get("CLUSTER_PG_PRIMARY", 5433))
PG_REPLICA = int(os.environ.get("CLUSTER_PG_REPLICA", 5434))
NODE_PORTS = [8001, 8002]  # as in deploy/nginx/wxapp.conf
NGINX_PORT = int(os.environ.get("CLUSTER_NGINX_PORT", 18080))
SANDBOX_PORT = int(os.environ.get("CLUSTER_SANDBOX_PORT", 18090))
DB_NAME = "wxapp_cluster"
# CLUSTER_RUSH=1 (bench/rush.py --layout): CLUSTER_TRAINEES learners resuming part-way
# through 20-minute chapters, presence checks on as in production, and PROXY_COUNT=2 so
# the address each simulated phone sends survives nginx's hop (every connection comes
# from 127.0.0.1 here, where nginx would see one address per phone).
RUSH = os.environ.get("CLUSTER_RUSH") == "1"
TRAINEES = int(os.environ.get("CLUSTER_TRAINEES", 40))
# Short chapters for the tests: a course (3 chapters) is learned in about 40 s.
CHAPTER_SECONDS = 1200 if RUSH else 12


def run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw)


def as_postgres(argv: list[str]) -> subprocess.CompletedProcess:
    return run(["runuser", "-u", "postgres", "--", *argv])


def wait_until(check, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet, whatever the reason
            pass
        time.sleep(0.3)
    raise SystemExit(f"{what} did not come up within {seconds:.0f}s")


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as res:
        return res.status == 200


class Layout:
    def __init__(self, folder: Path):
        self.dir = folder
        self.file = folder / "layout.json"
        self.state: dict = json.loads(self.file.read_text()) if self.file.exists() else {}
        self.state.setdefault("pids", {})

    def save(self) -> None:
        self.file.write_text(json.dumps(self.state, indent=1))

    # --- Redis Cluster ---------------------------------------------------------------
    def redis_up(self) -> None:
        for port in REDIS_PORTS:
            data = self.dir / "redis" / str(port)
            data.mkdir(parents=True)
            run(
                [
                    "redis-server",
                    "--port", str(port),
                    "--bind", "127.0.0.1",
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", "2000",
                    "--appendonly", "yes",
                    "--appendfsync", "everysec",
                    "--save", "",
                    "--dir", str(data),
                    "--daemonize", "yes",
                    "--pidfile", str(data / "redis.pid"),
                    "--logfile", str(data / "redis.log"),
                ]
            )  # fmt: skip
        for port in REDIS_PORTS:
            wait_until(lambda p=port: self.redis_cli(p, "ping") == "PONG", f"redis {port}")
            self.state["pids"][f"redis-{port}"] = int(
                (self.dir / "redis" / str(port) / "redis.pid").read_text()
            )
        run(
            ["redis-cli", "--cluster", "create"]
            + [f"127.0.0.1:{p}" for p in REDIS_PORTS]
            + ["--cluster-replicas", "1", "--cluster-yes"]
        )
        for port in REDIS_PORTS:
            wait_until(
                lambda p=port: "cluster_state:ok" in self.redis_cli(p, "cluster", "info"),
                f"cluster state on {port}",
            )
        self.state["redis_ports"] = REDIS_PORTS
        self.state["redis_url"] = f"redis+cluster://127.0.0.1:{REDIS_PORTS[0]}/0"

    @staticmethod
    def redis_cli(port: int, *args: str) -> str:
        return run(["redis-cli", "-p", str(port), *args]).stdout.strip()

    # --- PostgreSQL primary and streaming replica ------------------------------------
    def pg_ctl(self, name: str, port: int, action: str, *extra: str) -> None:
        data = self.dir / "pg" / name
        options = f"-p {port} -k {self.dir / 'pg'} -c listen_addresses=127.0.0.1"
        as_postgres(
            [
                str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(data.parent / f"{name}.log"),
                "-o", options, "-w", action, *extra,
            ]
        )  # fmt: skip

    def postgres_up(self) -> None:
        pg = self.dir / "pg"
        pg.mkdir()
        shutil.chown(pg, "postgres", "postgres")
        as_postgres(
            [str(PG_BIN / "initdb"), "-D", str(pg / "primary"), "-A", "trust", "-U", "postgres"]
        )
        with open(pg / "primary" / "postgresql.conf", "a") as conf:
            conf.write(
                "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n"
                "fsync = off\nsynchronous_commit = on\nmax_connections = 200\n"
            )
        self.pg_ctl("primary", PG_PRIMARY, "start")
        self.state["pids"]["pg-primary"] = self.pg_pid("primary")
        as_postgres(
            [
                str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(PG_PRIMARY),
                "-U", "postgres", "-D", str(pg / "replica"), "-R", "-X", "stream",
            ]
        )  # fmt: skip
        self.pg_ctl("replica", PG_REPLICA, "start")
        self.state["pids"]["pg-replica"] = self.pg_pid("replica")
        as_postgres([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(PG_PRIMARY), DB_NAME])
        self.state["database_url"] = f"postgresql://postgres@127.0.0.1:{PG_PRIMARY}/{DB_NAME}"
        self.state["read_url"] = f"postgresql://postgres@127.0.0.1:{PG_REPLICA}/{DB_NAME}"

    def pg_pid(self, name: str) -> int:
        return int((self.dir / "pg" / name / "postmaster.pid").read_text().split()[0])

    # --- the app ----------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        sandbox = f"http://127.0.0.1:{SANDBOX_PORT}/_sandbox"
        return {
            **os.environ,
            "DATABASE_URL": self.state["database_url"],
            "DATABASE_READ_URL": self.state["read_url"],
            "REDIS_URL": self.state["redis_url"],
            "SECRET_KEY": "cluster-test-secret-key-0123456789abcdef",
            "WXAPP_SANDBOX": "1",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{NGINX_PORT}",
            "WECHAT_API_BASE": sandbox,
            "WECHAT_OAUTH_BASE": sandbox,
            "WECHATPAY_API_BASE": sandbox,
            "PROXY_COUNT": "1",
            "PRESENCE_CHECKS": "0",
            "PROGRESS_FLUSH_S": "1",
            "DATABASE_READ_MAX_LAG_S": "3",
            "DATABASE_READ_CHECK_S": "0.5",
            "NOTIFY_POLL_S": "1",
            "SANDBOX_PAY_NOTIFY_SCALE": "0.01",
            "PROGRESS_INPROCESS_FLUSH": "0",
            "NOTIFY_INPROCESS": "0",
            "PYTHONPATH": str(ROOT),
            **({"PRESENCE_CHECKS": "1", "PROXY_COUNT": "2"} if RUSH else {}),
        }

    def spawn(self, name: str, argv: list[str]) -> int:
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=self.env(), stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        self.state["pids"][name] = proc.pid
        self.save()
        return proc.pid

    def gunicorn(self, name: str, port: int, workers: int, threads: int) -> None:
        self.spawn(
            name,
            [
                str(BIN / "gunicorn"), "--workers", str(workers), "--worker-class", "gthread",
                "--threads", str(threads), "--bind", f"127.0.0.1:{port}",
                "--timeout", "30", "--graceful-timeout", "5", "--log-level", "warning",
                "wsgi:app",
            ],
        )  # fmt: skip

    def app_up(self) -> None:
        env = self.env()
        run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env)
        self.state["seed"] = self.seed(env)
        self.save()
        self.gunicorn("sandbox", SANDBOX_PORT, 1, 16)
        for i, port in enumerate(NODE_PORTS, 1):
            self.gunicorn(f"node{i}", port, 2, 4)
        self.spawn("flusher", [str(BIN / "flask"), "--app", "wsgi", "progress", "flush"])
        for i in (1, 2):
            self.spawn(f"notifier{i}", [str(BIN / "flask"), "--app", "wsgi", "notify", "worker"])
        for port in [SANDBOX_PORT, *NODE_PORTS]:
            wait_until(lambda p=port: http_ok(f"http://127.0.0.1:{p}/healthz"), f"app on {port}")
        self.state["node_ports"] = NODE_PORTS
        self.state["sandbox"] = f"http://127.0.0.1:{SANDBOX_PORT}"

    def seed(self, env: dict[str, str]) -> dict:
        """Trainees enrolled in a short plan (bench/stack.py), a plan on sale, one unit
        holding them all, its administrator; in a child process (the app reads its
        settings from the environment)."""
        code = (
            "import json, sys\n"
            "from bench.stack import seed, PASSWORD\n"
            f"s = seed(dict(__import__('os').environ), {TRAINEES}, {CHAPTER_SECONDS},"
            f" resume={RUSH})\n"
            "from wxapp.app import create_app\n"
            "from models import Trainee, Unit, UnitAdmin, db\n"
            "from datetime import UTC, datetime\n"
            "app = create_app()\n"
            "with app.app_context():\n"
            "    unit = Unit(name='集群测试单位', district='渝北区')\n"
            "    db.session.add(unit); db.session.flush()\n"
            "    ids = [t.tid for t in s.trainees]\n"
            "    db.session.execute(db.update(Trainee).where(Trainee.id.in_(ids))"
            ".values(unit_id=unit.id))\n"
            "    db.session.add(UnitAdmin(trainee_id=ids[0], unit_id=unit.id,"
            " granted_at=datetime.now(UTC)))\n"
            "    db.session.commit()\n"
            "    out = {'unit_id': unit.id, 'learn_plan': s.learn_plan, 'buy_plan': s.buy_plan,"
            " 'chapters': s.chapters, 'chapter_seconds': s.chapter_seconds,"
            " 'password': PASSWORD, 'trainees': [[t.tid, t.id_number, t.openid]"
            " for t in s.trainees]}\n"
            + (
                "    import dataclasses\n"
                "    out['learners'] = [dataclasses.asdict(t) for t in s.trainees]\n"
                if RUSH
                else ""
            )
            + "print('SEED=' + json.dumps(out))\n"
        )
        out = run([sys.executable, "-c", code], cwd=ROOT, env=env).stdout
        return json.loads(re.search(r"^SEED=(.*)$", out, re.M).group(1))

    # --- nginx ------------------------------------------------------------------------
    def nginx_up(self) -> None:
        conf = (ROOT / "deploy" / "nginx" / "wxapp.conf").read_text()
        lines = []
        for line in conf.splitlines():
            if line.rstrip().endswith("# tls"):
                if "listen" in line:
                    lines.append(f"    listen 127.0.0.1:{NGINX_PORT};")
                continue
            lines.append(line.replace("/srv/wxapp/static/", f"{ROOT / 'static'}/"))
        folder = self.dir / "nginx"
        (folder / "logs").mkdir(parents=True)
        (folder / "wxapp.conf").write_text("\n".join(lines) + "\n")
        (folder / "nginx.conf").write_text(
            f"pid {folder}/nginx.pid;\n"
            f"error_log {folder}/logs/error.log warn;\n"
            "worker_processes 1;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            "    include /etc/nginx/mime.types;\n"
            "    log_format upstream '$request_method $uri $status $upstream_addr';\n"
            f"    access_log {folder}/logs/access.log upstream;\n"
            f"    client_body_temp_path {folder}/body;\n"
            f"    proxy_temp_path {folder}/proxy;\n"
            f"    include {folder}/wxapp.conf;\n"
            "}\n"
        )
        run(["nginx", "-t", "-p", str(folder), "-c", str(folder / "nginx.conf")])
        run(["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf")])
        self.state["pids"]["nginx"] = int((folder / "nginx.pid").read_text())
        self.state["base"] = f"http://127.0.0.1:{NGINX_PORT}"
        wait_until(lambda: http_ok(self.state["base"] + "/healthz"), "nginx")

    def up(self) -> None:
        started = time.monotonic()
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.redis_up()
        self.save()
        self.postgres_up()
        self.save()
        self.app_up()
        self.save()
        self.nginx_up()
        self.save()
        print(f"cluster layout up in {time.monotonic() - started:.0f}s under {self.dir}")

    def apps_down(self) -> None:
        """Stop the app nodes, the flusher and the workers, leaving the engines up (the
        in-process suites then use the Redis Cluster without their flusher beside them)."""
        for name, pid in self.state.get("pids", {}).items():
            if not name.startswith(("pg-", "redis-", "nginx")):
                kill_group(pid)

    def down(self) -> None:
        pids = self.state.get("pids", {})
        if "nginx" in pids:
            folder = self.dir / "nginx"
            subprocess.run(
                ["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf"), "-s", "stop"],
                capture_output=True,
            )
        self.apps_down()
        for name in ("replica", "primary"):
            if (self.dir / "pg" / name / "postmaster.pid").exists():
                subprocess.run(
                    ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D",
                     str(self.dir / "pg" / name), "-m", "immediate", "-w", "stop"],
                    capture_output=True,
                )  # fmt: skip
        for name, pid in pids.items():
            if name.startswith(("redis-", "pg-", "nginx")):
                kill_pid(pid)


def kill_group(pid: int) -> None:
    """TERM the process group `pid` leads (a gunicorn master and its workers), then KILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        for _ in range(50):
            if not alive(pid):
                return
            time.sleep(0.1)


def kill_pid(pid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        for _ in range(30):
            if not alive(pid):
                return
            time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[-1][:1] != "Z"


def main() -> None:
    actions = {"up": Layout.up, "apps-down": Layout.apps_down, "down": Layout.down}
    if len(sys.argv) != 3 or sys.argv[1] not in actions:
        raise SystemExit("usage: layout.py up|apps-down|down DIR")
    actions[sys.argv[1]](Layout(Path(sys.argv[2])))


if __name__ == "__main__":
    main()
