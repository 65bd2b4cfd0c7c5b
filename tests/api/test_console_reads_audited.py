"""Who looked at whom: an operator's 学员查询 and each trainee page opened are in 操作日志, the
query masked as the log is read by more people than the data, with the trainees found."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import OperatorAudit, db
from tests.console_helpers import console_app, create_operator, sign_in
from tests.factories import make_trainee


@pytest.fixture
def capp(base_config):
    with console_app(base_config) as app:
        yield app


def _audits(app) -> list[tuple[str, str | None, dict | None, int | None]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(OperatorAudit)
            .where(OperatorAudit.action.in_(["trainees.search", "trainees.view"]))
            .order_by(OperatorAudit.id)
        ).scalars()
        found = [(r.action, r.target_id, r.after, r.operator_id) for r in rows]
        db.session.remove()
        return found


def test_searches_and_trainee_pages_are_logged_with_the_query_masked(capp):
    with capp.app_context():
        wang = make_trainee(name="王小明")
        wang.phone = "13812345678"
        db.session.commit()
        tid, id_number = wang.id, wang.id_number
    secret = create_operator(capp, "kefu1", "support", "客服一")
    support = capp.test_client()
    sign_in(capp, support, "kefu1", secret)

    for q in (id_number, "138 1234 5678", "王小明"):
        page = support.get("/admin/trainees/", query_string={"q": q})
        assert page.status_code == 200 and "王小明" in page.text
    assert support.get(f"/admin/trainees/{tid}").status_code == 200
    assert support.get("/admin/trainees/", query_string={"q": "不存在的人"}).status_code == 200
    # However typed, a phone or an ID number is not kept whole.
    for q in ("(+86)13812345678", "13812345678.", f"ID{id_number}", "510103800101123"):
        assert support.get("/admin/trainees/", query_string={"q": q}).status_code == 200

    rows = _audits(capp)
    operator = rows[0][3]
    assert operator is not None and {r[3] for r in rows} == {operator}
    assert [(a, t, after) for a, t, after, _ in rows] == [
        (
            "trainees.search",
            None,
            {"query": id_number[:6] + "********" + id_number[-4:], "found": [tid]},
        ),
        ("trainees.search", None, {"query": "138****5678", "found": [tid]}),
        ("trainees.search", None, {"query": "王*明", "found": [tid]}),
        ("trainees.view", str(tid), None),
        ("trainees.search", None, {"query": "不***人", "found": []}),
        ("trainees.search", None, {"query": "(+86)138****5678", "found": []}),
        ("trainees.search", None, {"query": "138****5678.", "found": []}),
        (
            "trainees.search",
            None,
            {"query": f"ID{id_number[:3]}***********{id_number[-4:]}", "found": []},
        ),
        ("trainees.search", None, {"query": "510********1123", "found": []}),
    ]
    with capp.app_context():  # the full ID number and phone are nowhere in the log
        logged = str(db.session.execute(sa.select(OperatorAudit.after)).scalars().all())
        db.session.remove()
    assert id_number not in logged and "13812345678" not in logged
