"""Bulk registration speed: a 10,000-row roster with 50 bad rows, imported twice.

    .venv/bin/python bench/roster_import.py                 # a throw-away SQLite file
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/wxapp_bench REDIS_URL=redis://127.0.0.1:6379/1 \
        .venv/bin/python bench/roster_import.py [--rows 10000 --bad 50]

Against a given DATABASE_URL the schema is upgraded first and the generated trainees and
unit are deleted afterwards. Prints the time of each step and rows per second.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from models import Trainee, Unit, db  # noqa: E402
from tests.factories import roster_rows  # noqa: E402
from wxapp.accounts.roster_import import import_roster  # noqa: E402
from wxapp.accounts.roster_template import write_roster  # noqa: E402
from wxapp.app import create_app  # noqa: E402

UNIT = "重庆市基准测试单位"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--bad", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        overrides = {"WXAPP_SANDBOX": "1", "SECRET_KEY": "bench"}
        if not os.environ.get("DATABASE_URL"):
            overrides["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
        app = create_app(overrides)
        with app.app_context():
            upgrade()
            print(f"database: {db.engine.url.render_as_string(hide_password=True)}")

            started = time.perf_counter()
            rows, spoiled = roster_rows(args.rows, args.bad, start=900_000)
            path = folder / "roster.xlsx"
            write_roster(path, "垫江县", UNIT, rows)
            generated = time.perf_counter() - started
            print(
                f"generate {args.rows} rows ({args.bad} bad): {generated:.2f} s, "
                f"{path.stat().st_size // 1024} KB"
            )
            try:
                for attempt in ("first import", "second import"):
                    started = time.perf_counter()
                    result = import_roster(path, datetime.now(UTC))
                    elapsed = time.perf_counter() - started
                    print(
                        f"{attempt}: {elapsed:.2f} s ({args.rows / elapsed:,.0f} rows/s): "
                        f"imported {result.imported}, unchanged {result.unchanged}, "
                        f"errors {len(result.errors)}"
                    )
                expected = args.rows - len(spoiled)
                assert result.unchanged == expected, (result.unchanged, expected)
            finally:
                ids = [row["id_number"] for row in rows]
                for i in range(0, len(ids), 5000):
                    db.session.execute(
                        sa.delete(Trainee).where(Trainee.id_number.in_(ids[i : i + 5000]))
                    )
                db.session.execute(sa.delete(Unit).where(Unit.name == UNIT))
                db.session.commit()
            db.engine.dispose()
        app.extensions["redis"].close()


if __name__ == "__main__":
    main()
