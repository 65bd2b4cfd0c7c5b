"""The read replica failing under a read: the unit's HR clerk still gets the report.

The local PostgreSQL is not a replica, so its freshness check would always send reads to
the primary; here the check is made to pass (`Reader._check`), and the "replica" is a TCP
relay to the same server that the test then takes away, as a replica that restarts, is
promoted or loses its host between two checks.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from models import db
from tests.conftest import rolled_back_app
from tests.factories import make_enrollment, make_plan, make_trainee, make_unit, make_unit_admin
from tests.relay import Relay
from wxapp.infra.replica import Reader, read_only
from wxapp.reports.districts import district_summary


@pytest.fixture
def relay(base_config):
    url = sa.engine.make_url(base_config["DATABASE_URL"])
    if url.get_backend_name() != "postgresql":
        pytest.fail("this test needs PostgreSQL (DATABASE_URL)")
    proxy = Relay(url.host or "127.0.0.1", url.port or 5432)
    yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    proxy.close()


def test_a_replica_lost_between_checks_costs_the_report_nothing(base_config, relay, monkeypatch):
    proxy, replica_url = relay
    monkeypatch.setattr(Reader, "_check", lambda self, primary: True)  # a fresh replica
    with rolled_back_app(
        base_config, DATABASE_READ_URL=replica_url, DATABASE_READ_CHECK_S="60"
    ) as app:
        with app.app_context():
            unit = make_unit(name="垫江县人民医院", district="垫江县")
            admin = make_trainee(name="人事专员", unit=unit)
            make_unit_admin(admin, unit)
            learner = make_trainee(name="王芳", unit=unit)
            make_enrollment(learner, make_plan(kind="public", required_hours=30), hours="30")
            db.session.commit()
            unit_id, phone = unit.id, admin.phone
            reader = app.extensions["read_db"]
            assert reader.fresh(db.engine)
            with reader.engine.connect() as conn:  # the pool holds a live connection to it
                assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
        proxy.close()  # the replica goes away: its connections reset, new ones refused

        client = app.test_client()
        assert (
            client.post("/api/login", json={"username": phone, "password": "Passw0rd!"}).status_code
            == 200
        )
        response = client.get(f"/api/units/{unit_id}/report?year=2025")
        assert response.status_code == 200, response.get_json()
        rows = {r["name"]: r["public_done"] for r in response.get_json()["trainees"]}
        assert rows == {"人事专员": 0, "王芳": 30}

        # Set aside until its next check: the next reads go straight to the primary.
        started = time.monotonic()
        assert client.get(f"/api/units/{unit_id}/report?year=2025").status_code == 200
        assert time.monotonic() - started < 1.0
        with app.app_context():
            assert reader.fresh(db.engine) is False
            summary = {row["district"]: row["trainees"] for row in district_summary(2025)}
        assert summary["垫江县"] == 2
        reader.engine.dispose()


def test_a_read_past_its_own_timeout_is_not_run_again_on_the_primary(
    base_config, relay, monkeypatch
):
    """A statement timeout is the read's doing, not the replica's: running it again on the
    primary would double its wait and its load, and setting the replica aside would send
    every other report there too."""
    _, replica_url = relay  # a working replica: the relay stays up
    monkeypatch.setattr(Reader, "_check", lambda self, primary: True)
    ran = []

    def slow(session):
        ran.append(session)
        session.execute(sa.text("SET LOCAL statement_timeout = 200"))
        session.execute(sa.text("SELECT pg_sleep(1)"))

    with (
        rolled_back_app(
            base_config, DATABASE_READ_URL=replica_url, DATABASE_READ_CHECK_S="60"
        ) as app,
        app.app_context(),
    ):
        reader = app.extensions["read_db"]
        with pytest.raises(sa.exc.OperationalError):
            read_only(slow)
        assert len(ran) == 1
        assert reader.fresh(db.engine)  # still read from the replica
        reader.engine.dispose()
