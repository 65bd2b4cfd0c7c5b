"""A private Redis and a private PostgreSQL for bench/faults.py, so restarting them
harms no one else on the machine.

`PrivateRedis`: redis-server on a free port with AOF (`appendonly yes`, `appendfsync
everysec`, as docs/operations.md tells operators) in a temporary directory; `crash()` is
SIGKILL (no final fsync), `start()` again replays the AOF.
`PrivatePostgres`: a throwaway cluster (initdb) in a temporary directory on a free port,
run as the `postgres` user with `pg_ctl`; `restart()` is `pg_ctl stop -m fast`, 3 s down,
then start (every connection is cut, as in a failover or an upgrade).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import closing, suppress
from pathlib import Path

import redis

from bench.stack import free_port

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


class PrivateRedis:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with closing(redis.Redis.from_url(self.url)) as r:
                    if r.ping() and r.info("persistence")["loading"] == 0:
                        return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise SystemExit("private redis-server did not start")

    def crash(self) -> None:
        """SIGKILL: whatever the last everysec fsync had not written is lost."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivatePostgres:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]
        )

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _as_postgres(self, argv: list[str]) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *argv],
            check=True,
            capture_output=True,
            cwd=self.dir,
        )

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.dir / "log"),
                "-o",
                options,
                "-w",
                action,
                *extra,
            ]
        )

    def start(self) -> None:
        self._ctl("start")

    def restart(self, down_s: float = 3) -> None:
        """Fast shutdown (every connection cut), `down_s` seconds down, start again."""
        self._ctl("stop", "-m", "fast")
        time.sleep(down_s)
        self._ctl("start")

    def close(self) -> None:
        with suppress(subprocess.CalledProcessError):
            self._ctl("stop", "-m", "fast")
        shutil.rmtree(self.dir, ignore_errors=True)
