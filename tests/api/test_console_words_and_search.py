"""What an operator reads and types in the console: refund reasons and pushed events in
Chinese, a group member's refunded share on their order line, a phone or ID number found
however it was typed, and the audit log found by the words an operator would use."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from markupsafe import escape

from models import OrderStatus, Outbox, Refund, RefundItem, UnitAdmin, db
from tests.console_helpers import console_app, create_operator, csrf_of, sign_in
from tests.factories import make_id_number, make_order, make_plan, make_trainee, make_unit
from wxapp import events
from wxapp.console.display import EVENT_NAMES, refund_reason
from wxapp.orders.refund_rule import ALREADY_ENROLLED, OPERATOR, REASON_WORDS
from wxapp.orders.refunds import SYSTEM

MARKUP_NOTE = '<b onmouseover="x()">学员调离</b>'


@pytest.fixture
def capp(base_config):
    with console_app(base_config) as app:
        yield app


def _signed_in(app, role: str, login: str | None = None, name: str = "测试员"):
    login = login or f"op-{role}"
    secret = create_operator(app, login, role, name)
    client = app.test_client()
    sign_in(app, client, login, secret)
    return client


def _section(page: str, table_id: str) -> str:
    start = page.index(f'id="{table_id}"')
    return page[start : page.index("</table>", start)]


def _text(fragment: str) -> str:
    """What the operator reads: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


# --- refunds ------------------------------------------------------------------------------


def _group_order_with_refunds(app) -> dict:
    """A paid group order of two (180.00): 甲's share refunded automatically (she had bought
    the plan already), 乙's by 财务 with a note that carries markup."""
    with app.app_context():
        now = app.extensions["clock"].now()
        payer = make_trainee(name="单位经办人")
        first, second = make_trainee(name="学员甲"), make_trainee(name="学员乙")
        order = make_order(payer, make_plan(), now, trainees=[first, second])
        order.status, order.success_time = OrderStatus.SUCCESS, now
        db.session.flush()
        for n, (member, reason, by) in enumerate(
            [(first, "already_enrolled", SYSTEM), (second, MARKUP_NOTE, "operator:caiwu")], 1
        ):
            refund = Refund(
                out_refund_no=f"{order.out_trade_no}R0{n}", order_id=order.id, amount_fen=9000,
                reason=reason, requested_by=by, status="SUCCESS", succeeded_at=now,
            )  # fmt: skip
            db.session.add(refund)
            db.session.flush()
            db.session.add(RefundItem(refund_id=refund.id, trainee_id=member.id, order_id=order.id))
        db.session.commit()
        ids = {
            "order": order.out_trade_no,
            "payer": payer.id,
            "first": first.id,
            "second": second.id,
        }
        db.session.remove()
    return ids


def test_the_refunds_page_gives_an_automatic_refunds_reason_in_chinese(capp):
    ids = _group_order_with_refunds(capp)
    client = _signed_in(capp, "finance")
    page = client.get("/admin/refunds/").text
    listed = _section(page, "refund-list")
    assert "already_enrolled" not in listed and ">system<" not in listed
    automatic = _text(listed.split(f'data-refund="{ids["order"]}R01"')[1].split("</tr>")[0])
    assert "学员重复购买，自动退款 系统自动" in automatic
    # The operator's own note, as typed, and escaped.
    assert str(escape(MARKUP_NOTE)) in listed and MARKUP_NOTE not in page

    order_page = client.get("/admin/refunds/", query_string={"order": ids["order"]}).text
    members = _text(_section(order_page, "refund-members"))
    assert "学员甲" in members and "退款成功：学员重复购买，自动退款" in members
    assert "退款成功：" + MARKUP_NOTE in members
    assert MARKUP_NOTE not in order_page and "already_enrolled" not in order_page


def test_a_members_order_line_shows_their_refunded_share_and_why(capp):
    ids = _group_order_with_refunds(capp)
    client = _signed_in(capp, "support")
    first = _text(_section(client.get(f"/admin/trainees/{ids['first']}").text, "trainee-orders"))
    assert "支付成功 本人份额 90.00 元：退款成功（学员重复购买，自动退款）" in first
    assert "180.00" in first and "already_enrolled" not in first

    page = client.get(f"/admin/trainees/{ids['second']}").text
    second = _text(_section(page, "trainee-orders"))
    assert f"本人份额 90.00 元：退款成功（{MARKUP_NOTE}）" in second
    assert MARKUP_NOTE not in page  # shown as text, never as markup

    payer = _text(_section(client.get(f"/admin/trainees/{ids['payer']}").text, "trainee-orders"))
    assert "全单已退款 180.00 元" in payer and "本人份额" not in payer


def test_a_refunds_reason_reads_as_the_console_words_or_the_operators_note():
    """An automatic refund in fixed words, an operator's in the note typed (internal to the
    console), one without a note in the operator reason's words."""
    assert refund_reason(ALREADY_ENROLLED) == REASON_WORDS[ALREADY_ENROLLED].console
    assert refund_reason("学员来电要求退款") == "学员来电要求退款"
    assert refund_reason(None) == REASON_WORDS[OPERATOR].console == "客服办理退款"


# --- pushed messages ------------------------------------------------------------------------


def test_every_event_type_has_a_chinese_name():
    assert set(EVENT_NAMES) == set(events.EVENT_CLASSES)
    assert all(re.search(r"[\u4e00-\u9fff]", name) for name in EVENT_NAMES.values())


def test_the_trainee_page_names_each_pushed_message_in_chinese(capp):
    with capp.app_context():
        trainee = make_trainee(name="消息学员")
        for n, event_type in enumerate(events.EVENT_CLASSES):
            db.session.add(
                Outbox(event_type=event_type, trainee_id=trainee.id, subject=f"s:{n}", payload={})
            )
        db.session.commit()
        tid = trainee.id
    client = _signed_in(capp, "support")
    messages = _text(_section(client.get(f"/admin/trainees/{tid}").text, "trainee-messages"))
    for name in ("支付成功", "课程学完", "项目完成", "证书颁发", "学习提醒", "微信改绑"):
        assert name in messages, name
    for event_type in events.EVENT_CLASSES:
        assert event_type not in messages, event_type


# --- finding a trainee ----------------------------------------------------------------------


def _id_number_ending_in_x() -> str:
    return next(n for n in map(make_id_number, range(500, 2000)) if n.endswith("X"))


def test_a_phone_or_id_number_is_found_however_it_was_typed(capp):
    with capp.app_context():
        trainee = make_trainee(name="欧阳锋")
        trainee.id_number = _id_number_ending_in_x()
        db.session.commit()
        phone, id_number = trainee.phone, trainee.id_number
    client = _signed_in(capp, "support")
    typed = [
        f"{phone[:3]} {phone[3:7]} {phone[7:]}",
        f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
        f"+86 {phone}",
        id_number.lower(),
        f"{id_number[:6]} {id_number[6:14]} {id_number[14:].lower()}",
        # An input method's full-width digits and x.
        id_number.lower().translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}),
    ]
    for q in typed:
        page = client.get("/admin/trainees/", query_string={"q": q}).text
        assert "欧阳锋" in _text(_section(page, "support-results")), q


def test_a_unit_administrator_is_granted_by_a_phone_typed_with_spaces(capp):
    with capp.app_context():
        unit = make_unit(name="甲单位", district="万州区")
        clerk = make_trainee(name="甲单位人事", unit=unit)
        db.session.commit()
        phone, unit_id, clerk_id = clerk.phone, unit.id, clerk.id
    client = _signed_in(capp, "admin", "boss")
    page = client.get("/admin/unit_admins/new/").text
    client.post(
        "/admin/unit_admins/new/",
        data={
            "csrf_token": csrf_of(page),
            "account": f"{phone[:3]} {phone[3:7]}-{phone[7:]}",
            "unit_id": str(unit_id),
        },
    )
    with capp.app_context():
        assert db.session.execute(sa.select(UnitAdmin.trainee_id)).scalars().all() == [clerk_id]


# --- the audit log --------------------------------------------------------------------------


def _log(client, **query) -> str:
    page = client.get("/admin/audit_log/", query_string=query)
    assert page.status_code == 200
    return page.text


def _rows(page: str) -> str:
    """The log's table body, as text."""
    table = page[page.index('class="table table-striped table-bordered table-hover model-list"') :]
    return _text(table[table.index("</thead>") : table.index("</table>")])


def test_the_audit_log_is_found_by_what_an_operator_types(capp):
    with capp.app_context():
        first, second = make_trainee(name="甲"), make_trainee(name="乙")
        db.session.commit()
        first_id, second_id = first.id, second.id
    support = _signed_in(capp, "support", "kefu7", name="王小丫")
    token = csrf_of(support.get("/admin/").text)
    reply = support.post(
        f"/admin/trainees/{first_id}/temporary-password",
        data={"csrf_token": token, "password": "Temp2026pass"},
    )
    assert reply.status_code == 302
    support.post(f"/admin/trainees/{second_id}/unlock", data={"csrf_token": token})
    admin = _signed_in(capp, "admin", "boss", name="刘洋")

    found = _rows(_log(admin, search="临时密码"))
    assert "设置临时密码" in found and "解除登录锁定" not in found
    assert "王小丫（kefu7）" in found
    for words in ("王小丫", "kefu7", "小丫 锁定"):
        found = _rows(_log(admin, search=words))
        assert "解除登录锁定" in found, words
    assert "设置临时密码" not in _rows(_log(admin, search="小丫 锁定"))
    found = _rows(_log(admin, search=str(second_id)))
    assert "解除登录锁定" in found and "设置临时密码" not in found
    # A number is a whole record id: not a part of another id, nor of the IP 127.0.0.1.
    for part in ("127", "0", "1", str(second_id) + "0"):
        if part != str(second_id):
            assert "解除登录锁定" not in _rows(_log(admin, search=part)), part
    assert "解除登录锁定" in _rows(_log(admin, search="127.0.0.1"))
    # 学员: the kind of record, in Chinese.
    assert "设置临时密码" in _rows(_log(admin, search="学员"))
    assert "设置临时密码" not in _rows(_log(admin, search="刘洋"))

    # Filtered by operator (a login or a name, or part of one): the first filter.
    by_kefu = _rows(_log(admin, flt0_0="小丫"))
    assert "设置临时密码" in by_kefu and "刘洋" not in by_kefu
    assert "王小丫" not in _rows(_log(admin, flt0_0="刘洋"))


def test_the_audit_log_is_filtered_by_beijing_days(capp):
    with capp.app_context():
        for at, target in [
            (datetime(2026, 12, 1, 15, 30, tzinfo=UTC), "9100"),  # 12-01 23:30 in Beijing
            (datetime(2026, 12, 1, 16, 30, tzinfo=UTC), "9200"),  # 12-02 00:30 in Beijing
            (datetime(2026, 12, 3, 15, 59, tzinfo=UTC), "9300"),  # 12-03 23:59 in Beijing
        ]:
            db.session.execute(
                sa.insert(db.metadata.tables["operator_audits"]).values(
                    action="trainee.unlock", target_type="trainees", target_id=target, at=at
                )
            )
        db.session.commit()
    admin = _signed_in(capp, "admin", "boss")
    shown = _rows(_log(admin, flt1_1="2026-12-02 to 2026-12-03"))
    assert "9200" in shown and "9300" in shown and "9100" not in shown
    shown = _rows(_log(admin, flt2_2="2026-12-02"))
    assert "9200" in shown and "9100" not in shown
    shown = _rows(_log(admin, flt3_3="2026-12-01"))
    assert "9100" in shown and "9200" not in shown and "9300" not in shown
    assert "命令行" in shown  # no operator: written from the command line


def test_the_outbox_list_names_each_event_in_chinese(capp):
    with capp.app_context():
        trainee = make_trainee(name="推送学员")
        db.session.add(
            Outbox(
                event_type=events.CertificateIssued.event_type,
                trainee_id=trainee.id,
                subject="certificate:C-1",
                payload={},
            )
        )
        db.session.commit()
    admin = _signed_in(capp, "admin", "boss")
    shown = _rows(admin.get("/admin/outbox/").text)
    assert "证书颁发" in shown and "certificate_issued" not in shown


@pytest.mark.parametrize(
    "query",
    [
        {"flt1_1": "2026-12-02 to 9999-12-31"},
        {"flt3_3": "9999-12-31"},
        {"flt2_2": "0001-01-01"},
        {"flt1_1": "0001-01-01 to 0001-01-02"},
    ],
)
def test_a_day_outside_the_logs_years_filters_nothing_and_breaks_nothing(capp, query):
    """A date typed into the filter at the edge of the calendar is no filter (the page, not
    an error page); the log's rows still show."""
    with capp.app_context():
        db.session.execute(
            sa.insert(db.metadata.tables["operator_audits"]).values(
                action="trainee.unlock",
                target_type="trainees",
                target_id="9400",
                at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
            )
        )
        db.session.commit()
    admin = _signed_in(capp, "admin", "boss")
    assert "9400" in _rows(_log(admin, **query))
