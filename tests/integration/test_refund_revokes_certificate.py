"""A refund that takes the plan from a trainee revokes their certificate of it, through the
real producers on a live server: a unit pays a group order at the WeChat Pay sandbox, its
members learn the plan by beacons and are issued their certificates, 财务 refunds one
member's share in the console (warned first), the sandbox's REFUND.SUCCESS notification
completes it. The verification page then says 该证书已撤销 with the date and reason, the
trainee's own certificate routes answer 409, 我的证书 and the unit report leave it out; the
other member keeps theirs. Paying again and 申请证书 make it valid again, same code. A member
refunded for paying twice keeps their certificate."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from models import Chapter, Order, PlanCourse, Refund, db
from tests.api.test_console_finance_actions import _finance, _followed
from tests.conftest import LiveServer, serve
from tests.factories import make_binding, make_plan, make_trainee, make_unit, make_unit_admin
from tests.integration.test_refunds import cashier_pay, login, order_status, read, wait_for
from wxapp.infra.clock import local_date

REASON = "培训费已退款"


@pytest.fixture
def site(base_config: dict[str, Any]) -> Iterator[LiveServer]:
    """A live server with the operator console on."""
    with serve(base_config, CONSOLE_ENABLED="1", SANDBOX_PAY_NOTIFY_SCALE="0") as server:
        yield server


def _people(app) -> dict[str, Any]:
    """A unit, its administrator (who pays for the group), two members, and a 60-学时 plan of
    two 30-学时 courses of one one-minute chapter each."""
    with app.app_context():
        unit = make_unit()
        ids: dict[str, Any] = {"unit": unit.id}
        for key, name in (("payer", "单位经办人"), ("a", "甲学员"), ("b", "乙学员")):
            trainee = make_trainee(name=name, unit=unit)
            make_binding(trainee)
            ids[key], ids[f"{key}_no"] = trainee.id, trainee.id_number
            if key == "payer":
                make_unit_admin(trainee, unit)
        plan = make_plan(required_hours=60, courses=2, course_hours="30", chapters=1)
        db.session.commit()
        ids["plan"] = plan.id
        ids["chapters"] = list(
            db.session.execute(
                sa.select(Chapter.id)
                .join(PlanCourse, PlanCourse.course_id == Chapter.course_id)
                .where(PlanCourse.plan_id == plan.id)
                .order_by(PlanCourse.position)
            ).scalars()
        )
        db.session.remove()
    return ids


def _buy(url: str, http: requests.Session, path: str, body: dict) -> str:
    """Order (alone or for a group) and pay at the sandbox cashier: the order's number."""
    reply = http.post(f"{url}{path}", json=body)
    assert reply.status_code in (200, 201), reply.text
    found = reply.json()
    no = found.get("order", found)["out_trade_no"]
    params = http.post(f"{url}/api/orders/{no}/pay", json={}).json()["params"]
    cashier_pay(url, http, params)
    return no


def _learn_and_certify(site: LiveServer, http: requests.Session, ids: dict) -> dict:
    """Play every chapter of the plan to its end in the H5 player (15-second beacons as the
    clock runs), then 申请证书: the certificate issued."""
    clock = site.app.extensions["clock"]
    seq = itertools.count()
    for chapter in ids["chapters"]:
        play = f"play-{chapter}-{next(seq)}"
        for at in range(0, 61, 15):
            if at:
                clock.advance(15)
            beacon = {
                "chapter_id": chapter,
                "play_id": play,
                "seq": at // 15,
                "from": float(max(at - 15, 0)),
                "to": float(at),
                "position": float(at),
            }
            reply = http.post(f"{site.url}/api/beacons", json=beacon)
            assert reply.status_code == 200, reply.text
    assert reply.json()["plan_done"], reply.json()
    issued = http.post(f"{site.url}/api/plans/{ids['plan']}/certificate")
    assert issued.status_code == 201, issued.text
    return issued.json()


def _member_row(page: str, trainee_id: int) -> str:
    start = page.index(f'<tr data-trainee="{trainee_id}">')
    return html.unescape(page[start : page.index("</tr>", start)])


def _warning(serial: str) -> str:
    return f"该学员已取得本项目合格证书（编号 {serial}），退款成功后证书将被撤销"


def _specialist_done(url: str, payer: requests.Session, ids: dict) -> dict[str, float]:
    report = payer.get(f"{url}/api/units/{ids['unit']}/report", params={"year": 2025})
    assert report.status_code == 200, report.text
    return {row["name"]: row["specialist_done"] for row in report.json()["trainees"]}


def _refund_status(app, order_no: str) -> list[str]:
    return read(
        app,
        lambda: list(
            db.session.execute(
                sa.select(Refund.status)
                .join(Order, Order.id == Refund.order_id)
                .where(Order.out_trade_no == order_no)
                .order_by(Refund.id)
            ).scalars()
        ),
    )


def _support(app) -> tuple[object, str, int]:
    return _finance(app, login="kefu", role="support")


def test_refunding_a_member_revokes_their_certificate_until_they_pay_again(site):
    app, url = site.app, site.url
    ids = _people(app)
    payer, a, b = requests.Session(), requests.Session(), requests.Session()
    login(url, payer, ids["payer_no"])
    group_no = _buy(
        url,
        payer,
        "/api/group-orders",
        {"plan_id": ids["plan"], "id_numbers": f"{ids['a_no']}\n{ids['b_no']}"},
    )
    assert wait_for(lambda: order_status(app, group_no) == "SUCCESS")
    login(url, a, ids["a_no"])
    login(url, b, ids["b_no"])
    cert_a = _learn_and_certify(site, a, ids)
    cert_b = _learn_and_certify(site, b, ids)
    assert _specialist_done(url, payer, ids) == {"单位经办人": 0, "甲学员": 60, "乙学员": 60}

    # 财务 looks the order up: both members hold the plan's certificate, and the form says
    # what refunding each would do, on the page and in the confirmation it asks for.
    finance, token, _ = _finance(app)
    page = finance.get("/admin/refunds/", query_string={"order": group_no}).text
    for trainee_id, cert in ((ids["a"], cert_a), (ids["b"], cert_b)):
        row = _member_row(page, trainee_id)
        assert row.count(_warning(cert["serial"])) == 2  # shown, and in data-confirm
    rest = html.unescape(page[page.index('id="refund-rest-warning"') :])
    assert rest.startswith(
        'id="refund-rest-warning">退还全部剩余费用将撤销以下学员的本项目合格证书：甲学员、乙学员'
    )

    # 财务 refunds B's share alone; WeChat Pay's REFUND.SUCCESS completes it.
    reply = finance.post(
        "/admin/refunds/start",
        data={
            "csrf_token": token,
            "out_trade_no": group_no,
            "trainee_id": ids["b"],
            "reason": "学员申请退费",
        },
    )
    assert f"已发起退款 {group_no}R01（90.00 元）" in _followed(finance, reply)
    assert wait_for(lambda: _refund_status(app, group_no) == ["SUCCESS"])
    assert order_status(app, group_no) == "SUCCESS"  # A's share is still paid
    revoked_on = local_date(app.extensions["clock"].now())

    # The QR code's page says the certificate is revoked, when and why: never 有效.
    code_b = cert_b["verify_url"].rsplit("/", 1)[1]
    page = requests.get(cert_b["verify_url"])
    assert page.status_code == 410
    assert "该证书已撤销" in page.text and "有效" not in page.text
    assert f"已于 {revoked_on}（北京时间）撤销" in page.text and f"撤销原因：{REASON}" in page.text
    assert cert_b["serial"] in page.text and f"撤销：{REASON}" in page.text  # its history
    # B can no longer open, download or print it.
    for path in (f"/api/certificates/{cert_b['id']}", cert_b["pdf_url"], cert_b["print_url"]):
        refused = b.get(f"{url}{path}", headers={"Accept": "application/json"})
        assert refused.status_code == 409, (path, refused.text)
        assert refused.json()["error"] == "certificate_revoked"
        assert refused.json()["message"] == f"该证书已撤销（{REASON}），不能查看、下载或打印"
    printed = b.get(f"{url}{cert_b['print_url']}", headers={"Accept": "text/html"})
    assert printed.status_code == 409 and "该证书已撤销" in printed.text
    assert cert_b["serial"] not in printed.text
    # 我的证书 no longer lists it; the unit report no longer counts the plan's 学时.
    mine = b.get(f"{url}/api/me/certificates").json()["items"]
    assert [e for e in mine if e["plan"]["id"] == ids["plan"]] == []
    assert _specialist_done(url, payer, ids) == {"单位经办人": 0, "甲学员": 60, "乙学员": 0}

    # 客服 sees it revoked on B's page, and can still correct B's name: the revoked
    # certificate is not re-issued with it (its plan is refunded), and stays revoked.
    support, support_token, _ = _support(app)
    page = html.unescape(support.get(f"/admin/trainees/{ids['b']}").text)
    assert f"已撤销：{REASON}" in page
    corrected = support.post(
        f"/admin/trainees/{ids['b']}/correct",
        data={"csrf_token": support_token, "name": "乙学生", "reason": "户籍更正"},
    )
    said = html.unescape(_followed(support, corrected))
    assert "已更正姓名" in said and "刷新证书" not in said
    assert requests.get(cert_b["verify_url"]).status_code == 410

    # The partial refund left A's certificate as it was.
    assert requests.get(cert_a["verify_url"]).status_code == 200
    assert a.get(f"{url}/api/certificates/{cert_a['id']}").json()["version"] == 1
    assert a.get(f"{url}{cert_a['pdf_url']}").status_code == 200
    page = finance.get("/admin/refunds/", query_string={"order": group_no}).text
    assert _warning(cert_a["serial"]) in _member_row(page, ids["a"])
    assert "证书" not in _member_row(page, ids["b"])  # already refunded: nothing to warn of

    # B buys the plan again: paid again, what was learned counts, 申请证书 is offered again.
    own_no = _buy(url, b, "/api/orders", {"plan_id": ids["plan"]})
    assert wait_for(lambda: order_status(app, own_no) == "SUCCESS")
    [entry] = [e for e in b.get(f"{url}/api/me/certificates").json()["items"]]
    assert (entry["complete"], entry["certificate"]) == (True, None)
    # 我的进度 offers no print link to the revoked one either.
    year = b.get(f"{url}/api/me/progress").json()
    assert [p["certificate"] for p in year["plans"] if p["id"] == ids["plan"]] == [None]
    assert requests.get(cert_b["verify_url"]).status_code == 410  # until issued again
    again = b.post(f"{url}/api/plans/{ids['plan']}/certificate")
    assert again.status_code == 200, again.text
    renewed = again.json()
    assert (renewed["serial"], renewed["verify_url"]) == (cert_b["serial"], cert_b["verify_url"])
    assert renewed["version"] == 3  # 1 issued, 2 revoked, 3 issued again
    page = requests.get(f"{url}/verify/{code_b}")
    assert page.status_code == 200 and "有效" in page.text and "该证书已撤销" not in page.text
    history = re.findall(r'<div class="why">([^<]*)</div>', page.text)
    assert history == [
        "重新颁发（已重新缴纳培训费）；姓名：乙学员 → 乙学生（经客服更正）",
        f"撤销：{REASON}",
        "首次颁发",
    ]
    assert b.get(f"{url}{cert_b['pdf_url']}").status_code == 200
    assert b.get(f"{url}/api/me/certificates").json()["items"][0]["certificate"]["version"] == 3
    assert _specialist_done(url, payer, ids) == {"单位经办人": 0, "甲学员": 60, "乙学生": 60}
    for http in (payer, a, b):
        http.close()


def test_a_member_refunded_for_paying_twice_keeps_their_certificate(site):
    """A's unit opened its group payment; A then bought the plan alone, learned it and got the
    certificate; the unit's cashier still took the money, and A's share of it went back
    automatically. A's own order still pays for the plan: the certificate stays valid."""
    app, url = site.app, site.url
    ids = _people(app)
    payer, a = requests.Session(), requests.Session()
    login(url, payer, ids["payer_no"])
    group = payer.post(
        f"{url}/api/group-orders",
        json={"plan_id": ids["plan"], "id_numbers": f"{ids['a_no']}\n{ids['b_no']}"},
    ).json()
    group_no = group["order"]["out_trade_no"]
    params = payer.post(f"{url}/api/orders/{group_no}/pay", json={}).json()["params"]
    login(url, a, ids["a_no"])
    own_no = _buy(url, a, "/api/orders", {"plan_id": ids["plan"]})
    assert wait_for(lambda: order_status(app, own_no) == "SUCCESS")
    cert = _learn_and_certify(site, a, ids)

    cashier_pay(url, payer, params)
    assert wait_for(lambda: _refund_status(app, group_no) == ["SUCCESS"])
    page = requests.get(cert["verify_url"])
    assert page.status_code == 200 and "有效" in page.text and "撤销" not in page.text
    assert a.get(f"{url}/api/certificates/{cert['id']}").json()["version"] == 1
    for http in (payer, a):
        http.close()
