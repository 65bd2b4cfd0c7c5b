"""Two corrections of one account at once, on real commits: the second is checked against
the first, so a unit cannot chain two typo-sized corrections past its once a year by
sending them together."""

from __future__ import annotations

import time

import sqlalchemy as sa

from models import ProfileChange, Trainee, db
from tests.factories import make_trainee, make_unit, make_unit_admin, sign_in
from tests.integration.test_progress_concurrency import run_together
from wxapp.accounts import identity_changes


def test_two_unit_corrections_at_once_make_one(live_app, monkeypatch):
    with live_app.app_context():
        unit = make_unit()
        trainee = make_trainee(name="张三", unit=unit)
        admin = make_trainee(name="人事专员")
        make_unit_admin(admin, unit)
        db.session.commit()
        url = f"/api/units/{unit.id}/trainees/{trainee.id}/identity"
        trainee_id, admin_id = trainee.id, admin.id

    checked = identity_changes.within_unit_limits

    def slow(*args, **kwargs):  # the window between the check and the write, made wide
        checked(*args, **kwargs)
        time.sleep(0.5)

    monkeypatch.setattr(identity_changes, "within_unit_limits", slow)

    def correct(name):
        def send():
            client = live_app.test_client()
            sign_in(client, admin_id)
            return client.post(url, json={"name": name, "reason": "与身份证不一致"}).status_code

        return send

    statuses = run_together([correct("张叁"), correct("张三丰")])
    assert sorted(statuses) == [200, 403]
    with live_app.app_context():
        changes = db.session.execute(
            sa.select(ProfileChange).where(ProfileChange.trainee_id == trainee_id)
        ).scalars()
        assert len(list(changes)) == 1
        assert db.session.get(Trainee, trainee_id).name in ("张叁", "张三丰")
