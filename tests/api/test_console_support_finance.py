"""客服 and 财务 in the operator console: what each role may do, and that every action takes
effect for the trainee and leaves its audit row. (Refunds and the trade bill go through the
WeChat Pay sandbox over HTTP: tests/integration and tests/e2e.)"""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from models import (
    ChapterProgress,
    Invoice,
    InvoiceStatus,
    LearningPlay,
    OperatorAudit,
    OrderStatus,
    Trainee,
    WechatBinding,
    db,
)
from tests.console_helpers import console_app, create_operator, csrf_of, sign_in
from tests.factories import make_binding, make_enrollment, make_order, make_plan, make_trainee
from tests.factories import sign_in as trainee_sign_in
from tests.sms import latest_code, messages
from wxapp.accounts import sms_codes, sms_limits
from wxapp.accounts.idnumbers import initial_password
from wxapp.accounts.lockout import LOCK_S, is_locked
from wxapp.accounts.passwords import hash_password
from wxapp.infra.clock import local
from wxapp.orders.invoices import InvoiceRequest, attach_request

PDF = b"%PDF-1.4\n% tax system invoice\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def capp(base_config):
    with console_app(base_config) as app:
        # As in production without a tax platform: requests wait for 财务 (the sandbox's
        # own issuer would issue them at once).
        app.extensions["invoice_issuer"] = None
        yield app


def _signed_in(app, role: str):
    secret = create_operator(app, f"op-{role}", role)
    client = app.test_client()
    sign_in(app, client, f"op-{role}", secret)
    return client, csrf_of(client.get("/admin/").text)


def _audits(app, action: str) -> list[OperatorAudit]:
    with app.app_context():
        rows = list(
            db.session.execute(
                sa.select(OperatorAudit).where(OperatorAudit.action == action)
            ).scalars()
        )
        db.session.expunge_all()
        return rows


def _trainee(app, **kw) -> tuple[int, str, str]:
    with app.app_context():
        t = make_trainee(**kw)
        db.session.commit()
        return t.id, t.id_number, t.phone


def _paid_order_with_request(app) -> tuple[int, int, str]:
    """A paid order whose payer asked for an invoice that no issuer issued (a real tax
    system is not configured): it waits in 财务's queue."""
    with app.app_context():
        payer = make_trainee(name="开票人")
        plan = make_plan()
        now = app.extensions["clock"].now()
        order = make_order(payer, plan, now)
        order.status = OrderStatus.SUCCESS
        order.success_time = now
        invoice = attach_request(
            order, InvoiceRequest("个人", "开票人", None, "a@example.com"), now
        )
        db.session.commit()
        return payer.id, invoice.id, order.out_trade_no


def test_support_finds_a_trainee_by_each_key_and_sees_one_page(capp):
    tid, id_number, phone = _trainee(capp, name="周芷若")
    with capp.app_context():
        make_binding(db.session.get(Trainee, tid), "o_support_find_000000000001")
        db.session.commit()
    _, _, order_no = _paid_order_with_request(capp)
    client, _ = _signed_in(capp, "support")
    for q in (id_number, phone, "o_support_find_000000000001", "周芷"):
        page = client.get("/admin/trainees/", query_string={"q": q})
        assert page.status_code == 200 and "周芷若" in page.text, q
    assert "开票人" in client.get("/admin/trainees/", query_string={"q": order_no}).text
    assert "没有找到" in client.get("/admin/trainees/", query_string={"q": "无此人"}).text
    page = client.get(f"/admin/trainees/{tid}")
    assert page.status_code == 200
    for part in ("trainee-history", "trainee-enrollments", "trainee-learning-record",
                 "trainee-orders", "trainee-invoices", "trainee-certificates",
                 "trainee-messages", "o_support_find_000000000001"):  # fmt: skip
        assert part in page.text, part
    assert client.get("/admin/trainees/999999").status_code == 302


def _section(page: str, table_id: str) -> str:
    start = page.index(f'id="{table_id}"')
    return page[start : page.index("</table>", start)]


def test_the_trainee_page_shows_the_standing_learning_totals_and_order_states(capp):
    """The year's standing as 我的进度 counts it, the learning record's totals per course
    (no single play), and each order's state in the words the trainee reads."""
    with capp.app_context():
        now = capp.extensions["clock"].now()
        trainee = make_trainee(name="杨过")
        plan = make_plan(year=local(now).year, courses=2)
        make_enrollment(trainee, plan, hours="12.5")
        first, second = (pc.course for pc in plan.courses)
        plays = [(first.chapters[0], 1800, 2, 1), (first.chapters[1], 1800, 0, 0)]
        plays.append((second.chapters[0], 360, 1, 0))
        for n, (chapter, seconds, passed, missed) in enumerate(plays):
            db.session.add(
                LearningPlay(
                    trainee_id=trainee.id,
                    chapter_id=chapter.id,
                    play_id=f"play-{n}",
                    started_at=now,
                    ended_at=now,
                    credited_seconds=seconds,
                    checks_passed=passed,
                    checks_missed=missed,
                )
            )
            # What the plays credited (the progress engine's union; nothing played twice).
            db.session.add(
                ChapterProgress(
                    trainee_id=trainee.id, chapter_id=chapter.id, watched_seconds=seconds
                )
            )
        paid = make_order(trainee, plan, now)
        paid.status = OrderStatus.SUCCESS
        paid.success_time = now
        make_order(trainee, make_plan(year=local(now).year), now)
        db.session.commit()
        tid, titles = trainee.id, (first.title, second.title)
    client, _ = _signed_in(capp, "support")
    page = client.get(f"/admin/trainees/{tid}").text
    assert f"{local(now).year}年度已计 12.5 / 90 学时（公需 0/30，专业 12.5/60）" in page
    # Each started course of the plan says how far it is (none is learned yet here).
    assert f"；{titles[0]}（学习中 " in page and f"；{titles[1]}（学习中 " in page
    record = _section(page, "trainee-learning-record")
    assert f"<td>{titles[0]}</td><td>2</td><td>1.0</td><td>2/1</td>" in record
    assert f"<td>{titles[1]}</td><td>1</td><td>0.1</td><td>1/0</td>" in record
    orders = _section(page, "trainee-orders")
    assert "<td>支付成功</td>" in orders and "<td>未支付</td>" in orders
    assert "已支付" not in orders


def test_support_sends_the_reset_sms_and_it_is_audited(capp):
    tid, id_number, phone = _trainee(capp, name="张无忌")
    client, token = _signed_in(capp, "support")
    reply = client.post(f"/admin/trainees/{tid}/reset-sms", data={"csrf_token": token})
    assert reply.status_code == 302
    code = latest_code(capp, phone)
    assert code and len(code) == 6
    # The trainee uses it in 忘记密码.
    done = capp.test_client().post(
        "/api/password/forgot",
        json={"username": id_number, "sms_code": code, "new_password": "NewPass2026"},
    )
    assert done.status_code == 200, done.text
    [row] = _audits(capp, "trainee.reset_sms")
    assert row.target_id == str(tid) and row.operator_id is not None
    assert row.after == {"phone": f"{phone[:3]}****{phone[-4:]}"}


def test_support_still_reaches_a_roster_phone_whose_day_a_stranger_spent(capp):
    """Anyone can open a roster account with its published initial password and ask its
    activation code ten times a day: the phone's day is spent, and the owner's own asks
    send nothing. 客服's 发送重置密码短信 still reaches the phone (the owner's allowance),
    and the code activates the account through 忘记密码."""
    tid, id_number, phone = _trainee(capp, name="赵敏", password=None)
    clock = capp.extensions["clock"]
    stranger = capp.test_client()
    opened = stranger.post(
        "/api/login", json={"username": id_number, "password": initial_password(id_number)}
    )
    assert opened.status_code == 200
    for _ in range(sms_limits.PHONE_DAILY_CAP):
        assert stranger.post("/api/activation/code", json={}).status_code == 200
        clock.advance(sms_limits.RESEND_GAP_S + 1)
    assert len(messages(capp, phone)) == sms_limits.PHONE_DAILY_CAP
    client, token = _signed_in(capp, "support")
    reply = client.post(f"/admin/trainees/{tid}/reset-sms", data={"csrf_token": token})
    assert reply.status_code == 302
    assert len(messages(capp, phone)) == sms_limits.PHONE_DAILY_CAP + 1
    done = capp.test_client().post(
        "/api/password/forgot",
        json={
            "username": id_number,
            "sms_code": latest_code(capp, phone),
            "new_password": "Own2026pw",
        },
    )
    assert done.status_code == 200, done.text


def test_support_sets_a_temporary_password_lifts_a_lock_and_unbinds(capp):
    tid, id_number, _ = _trainee(capp, name="殷素素")
    with capp.app_context():
        make_binding(db.session.get(Trainee, tid), "o_support_unbind_00000000001")
        db.session.commit()
    r = capp.extensions["redis"]
    user = capp.test_client()
    for _ in range(5):
        user.post("/api/login", json={"username": id_number, "password": "wrong-pass1"})
    locked = user.post("/api/login", json={"username": id_number, "password": "wrong-pass1"})
    assert is_locked(r, tid) and 0 < locked.json["retry_after"] <= LOCK_S
    client, token = _signed_in(capp, "support")
    client.post(f"/admin/trainees/{tid}/unlock", data={"csrf_token": token})
    assert not is_locked(r, tid)
    client.post(f"/admin/trainees/{tid}/unbind", data={"csrf_token": token})
    with capp.app_context():
        assert (
            db.session.execute(
                sa.select(WechatBinding).where(WechatBinding.trainee_id == tid)
            ).first()
            is None
        )
    bad = client.post(
        f"/admin/trainees/{tid}/temporary-password", data={"csrf_token": token, "password": "short"}
    )
    assert "操作未完成" in client.get(bad.headers["Location"]).text
    client.post(
        f"/admin/trainees/{tid}/temporary-password",
        data={"csrf_token": token, "password": "Temp2026pass"},
    )
    login = user.post("/api/login", json={"username": id_number, "password": "Temp2026pass"})
    assert login.status_code == 200 and login.json["activation_required"] is True
    assert {a.action for a in _audits(capp, "trainee.unlock")} == {"trainee.unlock"}
    assert len(_audits(capp, "trainee.temporary_password")) == 1
    [unbound] = _audits(capp, "trainee.unbind")
    assert unbound.before == {"openid": "o_support_unbind_00000000001"}


def test_support_corrects_a_name_with_a_reason(capp):
    tid, _, _ = _trainee(capp, name="张三丰")
    client, token = _signed_in(capp, "support")
    none = client.post(
        f"/admin/trainees/{tid}/correct", data={"csrf_token": token, "name": "张君宝"}
    )
    assert "请填写更正理由" in client.get(none.headers["Location"]).text
    client.post(
        f"/admin/trainees/{tid}/correct",
        data={"csrf_token": token, "name": "张君宝", "reason": "与身份证不一致"},
    )
    with capp.app_context():
        assert db.session.get(Trainee, tid).name == "张君宝"
    [row] = _audits(capp, "trainee.correct_identity")
    assert row.before["name"] == "张三丰" and row.after["name"] == "张君宝"
    assert row.reason == "与身份证不一致"


def test_a_wrong_roster_phone_is_replaced_after_the_person_reads_back_the_code(capp):
    tid, id_number, old_phone = _trainee(capp, name="小昭", password=None)
    client, token = _signed_in(capp, "support")
    right = "13912345678"
    client.post(f"/admin/trainees/{tid}/phone-check", data={"csrf_token": token, "phone": right})
    code = latest_code(capp, right)
    wrong = client.post(
        f"/admin/trainees/{tid}/phone",
        data={"csrf_token": token, "phone": right, "code": "000000", "reason": "登记错误"},
    )
    assert "操作未完成" in client.get(wrong.headers["Location"]).text
    client.post(
        f"/admin/trainees/{tid}/phone",
        data={"csrf_token": token, "phone": right, "code": code, "reason": "单位登记错误"},
    )
    with capp.app_context():
        assert db.session.get(Trainee, tid).phone == right
    [row] = _audits(capp, "trainee.correct_phone")
    assert row.after == {"phone": "139****5678"} and row.reason == "单位登记错误"


def test_a_roster_phone_correction_stops_when_the_account_activated_meanwhile(capp, monkeypatch):
    """The owner activates between the operator's check and the write: the roster
    correction (uncapped, ending no session) must not then replace an activated account's
    phone."""

    tid, _, old_phone = _trainee(capp, name="小昭", password=None)
    client, token = _signed_in(capp, "support")
    right = "13912345678"
    client.post(f"/admin/trainees/{tid}/phone-check", data={"csrf_token": token, "phone": right})
    code = latest_code(capp, right)
    real_check = sms_codes.check_code

    def activated_meanwhile(*args, **kwargs):
        real_check(*args, **kwargs)
        # The owner's activation, as the operator's request would next read it (the tests'
        # database work shares one connection, so this stands for a commit elsewhere).
        db.session.execute(
            sa.update(Trainee)
            .where(Trainee.id == tid)
            .values(password_hash=hash_password("Owner2026pw"), must_change_password=False)
            .execution_options(synchronize_session=False)
        )

    monkeypatch.setattr(sms_codes, "check_code", activated_meanwhile)
    refused = client.post(
        f"/admin/trainees/{tid}/phone",
        data={"csrf_token": token, "phone": right, "code": code, "reason": "单位登记错误"},
    )
    assert "该账号已激活" in client.get(refused.headers["Location"]).text
    with capp.app_context():
        assert db.session.get(Trainee, tid).phone == old_phone
    assert _audits(capp, "trainee.correct_phone") == []


def test_an_operator_cannot_take_an_activated_account_by_temporary_password_and_phone(capp):
    """A temporary password makes an account wait for an SMS code again, as a roster
    account does; it must not also open the roster phone correction, or a 客服 operator
    could send that code to their own phone and hold a stranger's account."""
    tid, id_number, phone = _trainee(capp, name="受害人", password="Victim2026pw")
    client, token = _signed_in(capp, "support")
    mine = "13900001111"
    client.post(
        f"/admin/trainees/{tid}/temporary-password",
        data={"csrf_token": token, "password": "Temp2026pass"},
    )
    page = client.get(f"/admin/trainees/{tid}").text
    assert "已设临时密码" in page and 'id="phone-fix"' not in page
    refused = client.post(
        f"/admin/trainees/{tid}/phone-check", data={"csrf_token": token, "phone": mine}
    )
    assert "该账号已激活" in client.get(refused.headers["Location"]).text
    assert latest_code(capp, mine) is None
    client.post(
        f"/admin/trainees/{tid}/phone",
        data={"csrf_token": token, "phone": mine, "code": "123456", "reason": "登记错误"},
    )
    with capp.app_context():
        assert db.session.get(Trainee, tid).phone == phone
    assert _audits(capp, "trainee.correct_phone") == []
    # The temporary password still leads only to an SMS code to the account's own phone.
    user = capp.test_client()
    login = user.post("/api/login", json={"username": id_number, "password": "Temp2026pass"})
    assert login.json["phone_masked"] == f"*******{phone[-4:]}"


def test_a_roster_account_never_activated_gets_no_temporary_password(capp):
    tid, id_number, _ = _trainee(capp, name="周芷若", password=None)
    client, token = _signed_in(capp, "support")
    page = client.get(f"/admin/trainees/{tid}").text
    assert "待激活（初始密码" in page and 'id="temporary-password"' not in page
    refused = client.post(
        f"/admin/trainees/{tid}/temporary-password",
        data={"csrf_token": token, "password": "Temp2026pass"},
    )
    assert "该账号尚未激活，无需临时密码" in client.get(refused.headers["Location"]).text
    with capp.app_context():
        assert db.session.get(Trainee, tid).password_hash is None
    assert _audits(capp, "trainee.temporary_password") == []
    # Its phone may still be corrected: it is what the correction is for.
    client.post(
        f"/admin/trainees/{tid}/phone-check", data={"csrf_token": token, "phone": "13912340000"}
    )
    assert latest_code(capp, "13912340000") is not None


def test_finance_cannot_change_names_and_support_cannot_refund(capp):
    tid, _, _ = _trainee(capp, name="灭绝")
    finance, ftoken = _signed_in(capp, "finance")
    assert finance.get("/admin/trainees/").status_code == 403
    assert (
        finance.post(
            f"/admin/trainees/{tid}/correct",
            data={"csrf_token": ftoken, "name": "改名", "reason": "试试"},
        ).status_code
        == 403
    )
    with capp.app_context():
        assert db.session.get(Trainee, tid).name == "灭绝"
    support, stoken = _signed_in(capp, "support")
    for path in (
        "/admin/refunds/",
        "/admin/invoices/",
        "/admin/anomalies/",
        "/admin/reconciliation/",
    ):
        assert support.get(path).status_code == 403, path
    assert (
        support.post(
            "/admin/refunds/start",
            data={"csrf_token": stoken, "out_trade_no": "X", "reason": "试试"},
        ).status_code
        == 403
    )
    assert _audits(capp, "refund.request") == [] and _audits(capp, "trainee.correct_identity") == []


def test_a_trainees_invoice_change_tells_finance_which_number_to_reverse(capp):
    """Without a tax platform 财务 re-issues a 修改 by hand, and the first invoice must be
    reversed (红字发票): 支付异常 names its number, which the re-issue then overwrites."""
    payer_id, invoice_id, _ = _paid_order_with_request(capp)
    with capp.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        invoice.status, invoice.number = InvoiceStatus.ISSUED, "25500000000000001111"
        invoice.issued_at = capp.extensions["clock"].now()
        db.session.commit()
    trainee = capp.test_client()
    trainee_sign_in(trainee, payer_id)
    changed = trainee.put(
        f"/api/invoices/{invoice_id}",
        json={"title_type": "个人", "title": "开票人<b>", "email": "a@example.com"},
    )
    assert changed.status_code == 200 and changed.json["status"] == "requested"
    client, _ = _signed_in(capp, "finance")
    page = client.get("/admin/anomalies/").text
    assert "学员已修改发票并重新开具：请在税务系统为原发票开具红字发票" in page
    assert "原发票号码 25500000000000001111，抬头 开票人，90.00 元" in page


def test_a_tax_pdf_up_to_five_mb_is_taken_and_a_larger_one_told_why(capp):
    """The tax system's PDF may be over the service's 2 MB request limit: up to 5 MB it is
    issued; past that 财务 reads why, not a bare 413 page."""
    _, invoice_id, _ = _paid_order_with_request(capp)
    client, token = _signed_in(capp, "finance")

    def upload(size: int):
        # The body built here: the test client spools a large one to a file it leaves open.
        pdf = PDF + b"0" * (size - len(PDF))
        fields = {"csrf_token": token, "number": "25500000000012345678"}
        parts = [
            f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in fields.items()
        ]
        parts.append(
            b'--B\r\nContent-Disposition: form-data; name="pdf"; filename="fp.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n" + pdf + b"\r\n--B--\r\n"
        )
        return client.post(
            f"/admin/invoices/{invoice_id}/issue",
            data=b"".join(parts),
            content_type="multipart/form-data; boundary=B",
        )

    too_big = upload(5 * 1024 * 1024 + 1)
    assert too_big.status_code == 302
    assert "发票 PDF 不能超过 5 MB" in client.get(too_big.headers["Location"]).text
    issued = upload(3 * 1024 * 1024)
    assert issued.status_code == 302
    assert (
        "已开具发票 25500000000012345678（含 PDF）" in client.get(issued.headers["Location"]).text
    )


def test_finance_issues_a_requested_invoice_with_its_pdf_for_the_trainee(capp):
    payer_id, invoice_id, _ = _paid_order_with_request(capp)
    client, token = _signed_in(capp, "finance")
    queue = client.get("/admin/invoices/")
    assert queue.status_code == 200 and "开票人" in queue.text
    not_pdf = client.post(
        f"/admin/invoices/{invoice_id}/issue",
        data={
            "csrf_token": token,
            "number": "25500000000012345678",
            "pdf": (io.BytesIO(b"hello"), "x.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert "请上传税务系统导出的 PDF 文件" in client.get(not_pdf.headers["Location"]).text
    client.post(
        f"/admin/invoices/{invoice_id}/issue",
        data={
            "csrf_token": token,
            "number": "25500000000012345678",
            "pdf": (io.BytesIO(PDF), "fp.pdf"),
        },
        content_type="multipart/form-data",
    )
    trainee = capp.test_client()
    trainee_sign_in(trainee, payer_id)
    got = trainee.get(f"/api/invoices/{invoice_id}.pdf")
    assert got.status_code == 200 and got.data == PDF
    [row] = _audits(capp, "invoice.issue")
    assert row.after["number"] == "25500000000012345678" and row.after["pdf_bytes"] == len(PDF)


def test_finance_refuses_a_request_and_the_trainee_sees_why(capp):
    payer_id, invoice_id, order_no = _paid_order_with_request(capp)
    client, token = _signed_in(capp, "finance")
    client.post(
        f"/admin/invoices/{invoice_id}/refuse",
        data={"csrf_token": token, "reason": "个人抬头须与付款人姓名一致"},
    )
    trainee = capp.test_client()
    trainee_sign_in(trainee, payer_id)
    order = trainee.get(f"/api/orders/{order_no}").json
    assert order["invoice"]["status"] == "refused"
    assert order["invoice"]["refusal_reason"] == "个人抬头须与付款人姓名一致"
    # Applying again puts it back in the queue, without the old reason.
    again = trainee.post(
        f"/api/orders/{order_no}/invoice",
        json={"title_type": "个人", "title": "开票人", "email": "a@example.com"},
    )
    assert again.status_code in (200, 201), again.text
    with capp.app_context():
        inv = db.session.get(Invoice, invoice_id)
        assert inv.status == InvoiceStatus.REQUESTED and inv.refusal_reason is None
    assert len(_audits(capp, "invoice.refuse")) == 1


def test_markup_in_a_name_or_a_reason_is_shown_as_text_in_the_console(capp):
    """A name or a reason is people's text: the console's pages escape it (a stored
    <img onerror> in a trainee's name or a correction reason never runs for an operator)."""
    markup = '<img src=x onerror="alert(1)">'
    tid, id_number, _ = _trainee(capp, name=markup)
    client, token = _signed_in(capp, "support")
    for page in (
        client.get("/admin/trainees/", query_string={"q": id_number}),
        client.get(f"/admin/trainees/{tid}"),
    ):
        assert page.status_code == 200
        assert markup not in page.text and "&lt;img src=x" in page.text
    client.post(
        f"/admin/trainees/{tid}/correct",
        data={"csrf_token": token, "name": "张三", "reason": markup},
    )
    [row] = _audits(capp, "trainee.correct_identity")
    assert row.reason == markup  # kept exactly as typed
    history = client.get(f"/admin/trainees/{tid}").text
    assert markup not in history and "&lt;img src=x" in history
