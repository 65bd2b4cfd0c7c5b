"""Certificates over HTTP: issue, refusal, the PDF's text and QR code, verification, 刷新证书."""

from __future__ import annotations

import io
import secrets
import threading
import urllib.error
import urllib.request
from decimal import Decimal
from types import SimpleNamespace

import pypdf
import pytest
import zxingcpp

from models import Certificate, CertificateVersion, Outbox, Trainee, Unit, db
from tests.factories import (
    make_enrollment,
    make_plan,
    make_trainee,
    make_unit,
    make_unit_admin,
)
from wxapp.accounts.idnumbers import mask_id_number
from wxapp.accounts.passwords import hash_password
from wxapp.events import CertificateIssued
from wxapp.events import parse as parse_event


def plain(obj) -> SimpleNamespace:
    """A row's column values: ORM objects do not outlive the app context that loaded them."""
    return SimpleNamespace(**{c.key: getattr(obj, c.key) for c in obj.__table__.columns})


def login(client, phone: str) -> None:
    response = client.post("/api/login", json={"username": phone, "password": "Passw0rd!"})
    assert response.status_code == 200, response.get_json()


def seed(app, *, name="李四", hours="60", unit=True, required_hours=60, kind="specialist"):
    with app.app_context():
        u = make_unit() if unit else None
        trainee = make_trainee(name=name, unit=u)
        plan = make_plan(required_hours=required_hours, kind=kind)
        make_enrollment(trainee, plan, hours=hours)
        db.session.commit()
        return plain(trainee), plain(plan), plain(u) if u else None


@pytest.fixture
def done(app, client):
    """A logged-in trainee of a listed unit who has completed a 60-学时 specialist plan."""
    trainee, plan, unit = seed(app)
    login(client, trainee.phone)
    return trainee, plan, unit


def pdf_text_and_qr(pdf_bytes: bytes) -> tuple[str, list[str]]:
    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes))
    page = reader.pages[0]
    codes = [b.text for image in page.images for b in zxingcpp.read_barcodes(image.image)]
    return page.extract_text(), codes


def test_certificate_pdf_text_and_qr_code_lead_to_a_valid_verification_page(client, done):
    trainee, plan, unit = done
    response = client.post(f"/api/plans/{plan.id}/certificate")
    assert response.status_code == 201
    cert = response.get_json()
    assert cert["serial"].startswith("CQJX2025ZY")
    assert cert["issuer"] == "重庆市人力资源开发服务中心"

    pdf = client.get(cert["pdf_url"])
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    text, codes = pdf_text_and_qr(pdf.data)
    for expected in (
        "李四",
        mask_id_number(trainee.id_number),
        plan.title,
        "60 学时",
        unit.name,
        cert["serial"],
        "重庆市人力资源开发服务中心",
        "合格证书",
    ):
        assert expected in text
    assert trainee.id_number not in text
    assert "考核" not in text and "规定学时的课程，特发此证" in text.replace("\n", "")
    assert codes == [cert["verify_url"]]
    code = cert["verify_url"].rsplit("/", 1)[1]
    assert len(code) >= 22  # >= 128 bits of token_urlsafe

    page = client.get(f"/verify/{code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # A proxy or CDN asks again each time: a revoked certificate never shows 有效 from a cache.
    assert page.headers["Cache-Control"] == "no-cache"
    assert "有效" in html and "证书不存在或无效" not in html
    assert mask_id_number(trainee.id_number) in html and trainee.id_number not in html
    assert plan.title in html and cert["serial"] in html


def test_forged_or_altered_codes_are_not_valid(client, done):
    _, plan, _ = done
    cert = client.post(f"/api/plans/{plan.id}/certificate").get_json()
    code = cert["verify_url"].rsplit("/", 1)[1]
    altered = code[:-1] + ("A" if code[-1] != "A" else "B")
    odd = ("%00", "a%00b", "%F0%9F%98%80", "x" * 65, "%E4%B8%AD", "a.b")
    for forged in (secrets.token_urlsafe(24), altered, cert["serial"], "1", *odd):
        page = client.get(f"/verify/{forged}")
        assert page.status_code == 404
        html = page.get_data(as_text=True)
        assert "证书不存在或无效" in html and "李四" not in html


def test_never_issued_for_an_incomplete_plan(client, app):
    trainee, plan, _ = seed(app, hours="59.5")
    with app.app_context():
        other_plan = plain(make_plan(required_hours=30, kind="public"))
        db.session.commit()
    login(client, trainee.phone)

    response = client.post(f"/api/plans/{plan.id}/certificate")
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "plan_incomplete"
    assert "59.5/60" in body["message"]
    not_bought = client.post(f"/api/plans/{other_plan.id}/certificate")
    assert not_bought.status_code == 409
    assert not_bought.get_json()["error"] == "not_enrolled"
    assert client.post("/api/plans/999999/certificate").status_code == 404
    with app.app_context():
        assert db.session.execute(db.select(Certificate)).first() is None
    assert client.get("/api/me/certificates").get_json()["items"][0]["certificate"] is None


def test_missing_personal_info_is_named_then_completing_it_issues(client, app):
    trainee, plan, _ = seed(app, name="王五", unit=False)  # no unit, no 档案所在区县
    login(client, trainee.phone)

    refused = client.post(f"/api/plans/{plan.id}/certificate")
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["error"] == "profile_incomplete"
    assert body["missing"] == ["unit_or_district"]
    assert "档案所在区县" in body["message"]

    patched = client.patch("/api/me/profile", json={"archive_district": "垫江县"})
    assert patched.status_code == 200
    assert patched.get_json()["archive_district"] == "垫江县"
    issued = client.post(f"/api/plans/{plan.id}/certificate")
    assert issued.status_code == 201
    assert issued.get_json()["content"]["archive_district"] == "垫江县"
    text, _ = pdf_text_and_qr(client.get(issued.get_json()["pdf_url"]).data)
    assert "档案所在区县" in text and "垫江县" in text


def test_a_blank_name_is_named(client, app):
    trainee, plan, _ = seed(app, name="")
    login(client, trainee.phone)
    body = client.post(f"/api/plans/{plan.id}/certificate").get_json()
    assert body["missing"] == ["name"] and "姓名" in body["message"]


def test_reissue_keeps_the_serial_and_the_verification_page_shows_the_new_content(
    app, client, done
):
    trainee, plan, unit = done
    first = client.post(f"/api/plans/{plan.id}/certificate").get_json()
    code = first["verify_url"].rsplit("/", 1)[1]
    with app.app_context():
        new_unit = plain(make_unit(name="重庆市第一中学", district="沙坪坝区"))
        db.session.commit()

    assert client.patch("/api/me/profile", json={"unit_id": new_unit.id}).status_code == 200
    again = client.post(f"/api/plans/{plan.id}/certificate")
    assert again.status_code == 200
    second = again.get_json()
    assert second["serial"] == first["serial"]
    assert second["verify_url"] == first["verify_url"]
    assert second["version"] == 2
    assert second["content"]["unit"] == "重庆市第一中学"

    html = client.get(f"/verify/{code}").get_data(as_text=True)
    current = html.split('id="versions"')[0]
    assert "重庆市第一中学" in current and unit.name not in current and "第 2 版" in current
    # The version history names the move: 工作单位 from the old unit to the new one.
    assert f"工作单位：{unit.name} → 重庆市第一中学" in html
    text, _ = pdf_text_and_qr(client.get(second["pdf_url"]).data)
    assert "重庆市第一中学" in text and unit.name not in text

    unchanged = client.post(f"/api/plans/{plan.id}/certificate").get_json()
    assert unchanged["version"] == 2
    with app.app_context():
        events = (
            db.session.execute(db.select(Outbox).where(Outbox.event_type == "certificate_issued"))
            .scalars()
            .all()
        )
        assert [(e.subject, e.trainee_id) for e in events] == [
            (f"certificate:{first['serial']}", trainee.id)
        ]
    # What the template message will show: 项目, 证书编号, 学时.
    issued = parse_event(events[0].event_type, events[0].payload)
    assert isinstance(issued, CertificateIssued)
    assert (issued.serial, issued.plan_id, issued.hours) == (first["serial"], plan.id, Decimal(60))


def test_a_trainee_cannot_rename_themself_on_an_issued_certificate(app, client, done):
    _, plan, _ = done
    first = client.post(f"/api/plans/{plan.id}/certificate").get_json()
    assert client.patch("/api/me/profile", json={"name": "王八"}).status_code == 403
    again = client.post(f"/api/plans/{plan.id}/certificate").get_json()
    assert (again["version"], again["content"]["name"]) == (1, "李四")
    html = client.get(first["verify_url"].split("http://localhost", 1)[-1]).get_data(as_text=True)
    assert "王八" not in html


def test_a_name_corrected_by_the_unit_shows_in_the_verification_history(app, client, done):
    trainee, plan, unit = done
    first = client.post(f"/api/plans/{plan.id}/certificate").get_json()
    code = first["verify_url"].rsplit("/", 1)[1]
    with app.app_context():
        admin = make_trainee(name="单位管理员")
        make_unit_admin(admin, db.session.get(Unit, unit.id))
        db.session.commit()
        admin_phone = admin.phone
    admin_client = app.test_client()
    login(admin_client, admin_phone)
    reason = "<script>alert(1)</script>与身份证不一致 本人电话13800138001"
    corrected = admin_client.post(
        f"/api/units/{unit.id}/trainees/{trainee.id}/identity",
        json={"name": "李斯", "reason": reason},
    )
    assert corrected.status_code == 200, corrected.get_json()

    # Until 刷新证书 the certificate says what it said; then version 2 with the new name.
    assert "李斯" not in client.get(f"/verify/{code}").get_data(as_text=True)
    refreshed = client.post(f"/api/plans/{plan.id}/certificate").get_json()
    assert (refreshed["version"], refreshed["content"]["name"]) == (2, "李斯")
    assert refreshed["serial"] == first["serial"]

    response = client.get(f"/verify/{code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "有效" in html
    history = html.split('id="versions"', 1)[1]
    assert "第 2 版" in history and "第 1 版" in history and "首次颁发" in history
    assert history.index("第 2 版") < history.index("第 1 版")  # newest first
    # Who corrected, not the reason typed with it: anyone with the QR code reads this page.
    assert "姓名：李四 → 李斯（经所在单位更正）" in history
    assert "理由" not in html and "alert(1)" not in html and "13800138001" not in html
    with app.app_context():
        versions = db.session.execute(
            db.select(CertificateVersion.version, CertificateVersion.content["name"].as_string())
            .where(CertificateVersion.certificate_id == first["id"])
            .order_by(CertificateVersion.version)
        ).all()
    assert [tuple(v) for v in versions] == [(1, "李四"), (2, "李斯")]


def test_my_certificates_and_the_print_page(client, done):
    _, plan, _ = done
    cert = client.post(f"/api/plans/{plan.id}/certificate").get_json()
    items = client.get("/api/me/certificates").get_json()["items"]
    assert [(i["plan"]["id"], i["complete"], i["certificate"]["serial"]) for i in items] == [
        (plan.id, True, cert["serial"])
    ]
    assert client.get(f"/api/certificates/{cert['id']}").get_json()["serial"] == cert["serial"]

    page = client.get(cert["print_url"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "李四" in html and "继续教育专用章" in html and "<svg" in html
    assert 'name="viewport" content="width=device-width' in html
    # No assessment exists, so none is claimed: the notice's own words.
    assert "考核" not in html and "已学习完成本培训项目规定学时的课程，特发此证" in html
    with client.get("/static/css/certificate-print.css") as sheet:
        css = sheet.get_data(as_text=True)
    assert "@media print" in css and "size: A4 landscape" in css


def test_the_print_page_is_not_for_a_session_that_must_activate_first(client, done, app):
    """客服's temporary password is told by telephone to whoever called: its session reaches
    only 激活账号 until an SMS code to the account's phone follows. The print page (name,
    ID number, unit, 学时) is no exception: it sends that session to activation."""
    trainee, plan, _ = done
    cert = client.post(f"/api/plans/{plan.id}/certificate").get_json()
    with app.app_context():
        row = db.session.get(Trainee, trainee.id)
        row.password_hash = hash_password("Temp2026pw")
        row.must_change_password = True
        db.session.commit()
    caller = app.test_client()
    opened = caller.post("/api/login", json={"username": trainee.phone, "password": "Temp2026pw"})
    assert opened.get_json()["activation_required"] is True
    assert caller.get(f"/api/certificates/{cert['id']}").status_code == 403
    page = caller.get(cert["print_url"])
    assert page.status_code == 302
    assert page.headers["Location"] == f"/h5/activate?next=%2Fcertificates%2F{cert['id']}"
    assert "李四" not in page.get_data(as_text=True)


def test_someone_elses_certificate_is_not_found(client, done, app):
    _, plan, _ = done
    cert = client.post(f"/api/plans/{plan.id}/certificate").get_json()
    client.post("/api/logout")
    assert client.get(cert["print_url"]).status_code == 302  # to the login page
    assert client.get(cert["pdf_url"]).status_code == 401

    with app.app_context():
        other = plain(make_trainee(name="赵六"))
        db.session.commit()
    login(client, other.phone)
    assert client.get(cert["pdf_url"]).status_code == 404
    assert client.get(f"/api/certificates/{cert['id']}").status_code == 404
    assert client.get(cert["print_url"]).status_code == 404
    # A browser opening the print page gets a page saying so, with a way back, not JSON.
    opened = client.get(cert["print_url"], headers={"Accept": "text/html,*/*;q=0.8"})
    assert opened.status_code == 404 and opened.mimetype == "text/html"
    page = opened.get_data(as_text=True)
    assert "证书不存在" in page and "返回首页" in page and "certificate_not_found" not in page


def test_the_qr_code_opens_the_verification_page_over_http(live_server):
    app = live_server.app
    trainee, plan, _ = seed(app, name="钱七")
    client = app.test_client()
    login(client, trainee.phone)
    cert = client.post(f"/api/plans/{plan.id}/certificate").get_json()
    _, codes = pdf_text_and_qr(client.get(cert["pdf_url"]).data)
    assert codes[0].startswith(live_server.url + "/verify/")
    with urllib.request.urlopen(codes[0], timeout=10) as response:
        assert "有效" in response.read().decode()
    with pytest.raises(urllib.error.HTTPError) as forged:
        urllib.request.urlopen(live_server.url + "/verify/" + secrets.token_urlsafe(24), timeout=10)
    assert forged.value.code == 404
    assert "证书不存在或无效" in forged.value.read().decode()
    forged.value.close()


def test_concurrent_first_requests_issue_one_certificate_and_one_event(live_app):
    """Two taps on 申请证书 at once: one certificate, one outbox event, no error."""
    trainee, plan, _ = seed(live_app, name="孙八")
    clients = [live_app.test_client() for _ in range(2)]
    for client in clients:
        login(client, trainee.phone)
    barrier = threading.Barrier(2)
    statuses = []

    def ask(client):
        barrier.wait()
        statuses.append(client.post(f"/api/plans/{plan.id}/certificate").status_code)

    threads = [threading.Thread(target=ask, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [200, 201]
    with live_app.app_context():
        assert len(db.session.execute(db.select(Certificate)).all()) == 1
        events = db.session.execute(
            db.select(Outbox).where(Outbox.event_type == "certificate_issued")
        ).all()
        assert len(events) == 1


def test_what_names_the_trainee_is_not_kept_by_the_browser(client, done):
    """On a unit's shared PC, Back or the history after logging out must not bring back
    someone's name, ID number or certificate: every personal reply is private, no-store."""
    trainee, plan, _ = done
    issued = client.post(f"/api/plans/{plan.id}/certificate").get_json()
    for path in (
        "/api/me",
        "/api/me/progress",
        "/api/me/certificates",
        f"/api/certificates/{issued['id']}",
        issued["print_url"],
    ):
        reply = client.get(path)
        assert reply.status_code == 200, path
        assert reply.headers["Cache-Control"] == "private, no-store", path
    assert trainee.name in client.get(issued["print_url"]).get_data(as_text=True)
    # The page the certificates are drawn in is not kept either.
    assert client.get("/h5/certificates").headers["Cache-Control"] == "no-store"
