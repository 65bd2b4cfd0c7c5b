"""What the 管理员 reads in the console's 操作日志 after editing a 培训项目: only the fields
that really changed, never the 开售时间/停售时间 the form merely showed back in Beijing time."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest

from models import OperatorAudit, TrainingPlan, db
from tests.console_helpers import (
    console_app,
    csrf_of,
    plan_form,
    signed_in_admin,
)
from tests.factories import make_plan


@pytest.fixture
def capp(base_config):
    with console_app(base_config) as app:
        yield app


def _shown(page: str, name: str) -> str:
    """The value the edit form shows in its `name` input (what the browser sends back)."""
    found = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page)
    assert found, f"no {name} input on the page"
    value = re.search(r'\bvalue="([^"]*)"', found.group(0))
    return html.unescape(value.group(1)) if value else ""


def _last_update(app) -> OperatorAudit:
    with app.app_context():
        row = db.session.execute(
            db.select(OperatorAudit)
            .where(OperatorAudit.action == "training_plans.update")
            .order_by(OperatorAudit.id.desc())
        ).scalar()
        assert row is not None, "no audit row for the edit"
        db.session.expunge(row)
        return row


@pytest.mark.parametrize(
    "sale_start",
    [
        datetime(2032, 1, 1, 0, 0, tzinfo=UTC),  # 08:00 in Beijing: the zone round trip
        datetime(2032, 3, 1, 2, 30, 15, 654321, tzinfo=UTC),  # as 上架 sets it: to the µs
    ],
    ids=["whole-second", "microseconds"],
)
def test_editing_the_title_logs_only_the_title(capp, sale_start):
    with capp.app_context():
        plan = make_plan(year=2032, courses=1)
        plan.sale_start = sale_start
        plan.sale_end = datetime(2032, 12, 31, 16, 0, tzinfo=UTC)
        db.session.commit()
        plan_id, code, title = plan.id, plan.code, plan.title
    client = signed_in_admin(capp)

    page = client.get(f"/admin/plans/edit/?id={plan_id}").text
    shown_start, shown_end = _shown(page, "sale_start"), _shown(page, "sale_end")
    assert shown_end == "2033-01-01 00:00:00"  # the operator reads Beijing time
    form = plan_form(
        csrf_of(page),
        code=code,
        title="2032年专业科目（修订）",
        sale_start=shown_start,
        sale_end=shown_end,
    )
    saved = client.post(f"/admin/plans/edit/?id={plan_id}", data=form, follow_redirects=True)
    assert "保存记录成功" in saved.text

    row = _last_update(capp)
    assert row.before == {"title": title}
    assert row.after == {"title": "2032年专业科目（修订）"}
    with capp.app_context():
        plan = db.session.get(TrainingPlan, plan_id)
        assert plan.sale_start == sale_start  # to the microsecond: the form did not move it
        assert plan.sale_start.microsecond == sale_start.microsecond

    log = client.get("/admin/audit_log/").text
    assert "2032年专业科目（修订）" in log
    assert "sale_start" not in log and "sale_end" not in log


def test_a_real_change_of_the_sale_start_is_logged_in_utc(capp):
    with capp.app_context():
        plan = make_plan(year=2032, courses=1)
        plan.sale_start = datetime(2032, 1, 1, 0, 0, tzinfo=UTC)
        db.session.commit()
        plan_id, code = plan.id, plan.code
    client = signed_in_admin(capp)
    page = client.get(f"/admin/plans/edit/?id={plan_id}").text
    form = plan_form(
        csrf_of(page),
        code=code,
        title=_shown(page, "title"),
        sale_start="2032-01-02 08:00:00",  # one day later, Beijing time
    )
    saved = client.post(f"/admin/plans/edit/?id={plan_id}", data=form, follow_redirects=True)
    assert "保存记录成功" in saved.text
    row = _last_update(capp)
    assert row.before == {"sale_start": "2032-01-01T00:00:00+00:00"}
    assert row.after == {"sale_start": "2032-01-02T00:00:00+00:00"}
