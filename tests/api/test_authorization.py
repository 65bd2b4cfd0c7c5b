"""Who may see what: one trainee's things are invisible to another, a unit administrator sees
only their unit, the sandbox does not exist in production, session cookies are locked down,
and no state-changing request is accepted from another site.

Adding a route that reaches one trainee's resource by id is one line in OWNED_ROUTES (plus,
for a new kind of resource, one maker in MAKERS). test_every_id_route_is_classified fails
until a new /api/ route with an id is listed here, so none is forgotten.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from models import Trainee, WechatBinding, db
from tests.conftest import app_with, truncate_all
from tests.factories import (
    make_binding,
    make_enrollment,
    make_plan,
    make_trainee,
    make_unit,
    make_unit_admin,
    production_settings,
)

PASSWORD = "Passw0rd!"


@dataclass(frozen=True)
class OwnedRoute:
    """A route that reaches one trainee's resource by its id."""

    method: str
    url: str  # with {id}
    resource: str  # key of MAKERS
    json: dict | None = None
    # What the owner gets; None where the owner's call goes on to WeChat Pay over HTTP
    # (covered by the sandbox end-to-end tests): only the other trainee's 404 is checked.
    owner_status: int | None = 200


INVOICE = {"title_type": "个人", "title": "甲", "email": "jia@example.com"}

# ↓ one line per route
OWNED_ROUTES = [
    OwnedRoute("GET", "/api/certificates/{id}", "certificate"),
    OwnedRoute("GET", "/api/certificates/{id}.pdf", "certificate"),
    OwnedRoute("GET", "/certificates/{id}", "certificate"),
    OwnedRoute("GET", "/api/orders/{id}", "order"),
    OwnedRoute("POST", "/api/orders/{id}/pay", "order", json={}, owner_status=None),
    OwnedRoute("GET", "/api/orders/{id}/qrcode.png", "order", owner_status=None),
    OwnedRoute("POST", "/api/orders/{id}/cancel", "order", owner_status=None),
    OwnedRoute("POST", "/api/orders/{id}/invoice", "paid_order", json=INVOICE, owner_status=201),
    OwnedRoute("PUT", "/api/invoices/{id}", "invoice", json={**INVOICE, "title": "甲二"}),
    OwnedRoute("GET", "/api/invoices/{id}.pdf", "invoice"),
    OwnedRoute("GET", "/api/group-orders/{id}/members", "group_order"),
]

# /api/ routes with an id that are not one trainee's: the catalogue is the same for every
# trainee; a certificate is issued for the caller's own enrollment of the plan; unit ids
# are public (GET /api/units) and the report answers 403 other_unit (tested below).
SHARED_ID_ROUTES = {
    # the caller's own progress in a catalogue chapter; nobody else's can be named
    "/api/chapters/<int:chapter_id>/resume",
    # a capability URL: a random token handed to the payer who pasted the list
    "/api/group-orders/rejects/<token>.xlsx",
    "/api/plans/<int:plan_id>",
    "/api/courses/<int:course_id>",
    "/api/plans/<int:plan_id>/certificate",
    "/api/units/<int:unit_id>/report",
    # the unit page's list, download and 一键提醒: the unit's administrators only
    # (tests/api/test_unit_page.py tries another unit's administrator and a plain trainee)
    "/api/units/<int:unit_id>/staff",
    "/api/units/<int:unit_id>/staff.xlsx",
    "/api/units/<int:unit_id>/reminders",
    # the unit administrator's correction of a trainee of their unit (tests/api/test_profile.py
    # tries another unit, a trainee of another unit and one that does not exist)
    "/api/units/<int:unit_id>/trainees/<int:trainee_id>/identity",
}


def login(client, phone: str) -> None:
    res = client.post("/api/login", json={"username": phone, "password": PASSWORD})
    assert res.status_code == 200, res.get_json()


def make_certificate(app, client, owner) -> int:
    """A completed plan of `owner` and its certificate, issued over HTTP."""
    with app.app_context():
        plan = make_plan(required_hours=60)
        make_enrollment(db.session.get(Trainee, owner.id), plan, hours="60")
        db.session.commit()
        plan_id = plan.id
    res = client.post(f"/api/plans/{plan_id}/certificate")
    assert res.status_code == 201, res.get_json()
    return res.get_json()["id"]


def make_order(app, client, owner) -> str:
    with app.app_context():
        plan_id = make_plan().id
        db.session.commit()
    res = client.post("/api/orders", json={"plan_id": plan_id, "invoice": None})
    assert res.status_code in (200, 201), res.get_json()
    return res.get_json()["out_trade_no"]


def make_paid_order(app, client, owner) -> str:
    from wxapp.infra.transaction import transaction
    from wxapp.orders.payment import apply_transaction

    out_trade_no = make_order(app, client, owner)
    amount = client.get(f"/api/orders/{out_trade_no}").get_json()["amount"]
    tx = {
        "trade_state": "SUCCESS",
        "out_trade_no": out_trade_no,
        "transaction_id": f"4200{owner.id:024d}",
        "success_time": "2025-06-16T10:05:00+08:00",
        "appid": app.config["WECHAT_APP_ID"],
        "mchid": app.config["WECHATPAY_MCHID"],
        "amount": {"total": amount, "payer_total": amount, "currency": "CNY"},
    }
    with app.app_context(), transaction():  # the paid transition never commits itself
        apply_transaction(
            tx, f"test-{out_trade_no}", tx["mchid"], tx["appid"], app.extensions["clock"].now()
        )
    return out_trade_no


def make_invoice(app, client, owner) -> int:
    out_trade_no = make_paid_order(app, client, owner)
    res = client.post(f"/api/orders/{out_trade_no}/invoice", json=INVOICE)
    assert res.status_code == 201, res.get_json()
    return res.get_json()["id"]


def make_group_order(app, client, owner) -> str:
    with app.app_context():
        plan_id, member = make_plan().id, make_trainee(name="丙").id_number
        db.session.commit()
    res = client.post("/api/group-orders", json={"plan_id": plan_id, "id_numbers": member})
    assert res.status_code == 201, res.get_json()
    return res.get_json()["order"]["out_trade_no"]


MAKERS: dict[str, Callable] = {
    "group_order": make_group_order,
    "certificate": make_certificate,
    "order": make_order,
    "paid_order": make_paid_order,
    "invoice": make_invoice,
}


@pytest.fixture
def two(app):
    """Trainee A (the owner) and trainee B (the other), both logged in, A bound to WeChat."""
    with app.app_context():
        unit = make_unit()
        a = make_trainee(name="甲", unit=unit)
        b = make_trainee(name="乙", unit=unit)
        make_binding(a, "o_owner_a_0000000000000001")
        db.session.commit()
        a, b = (SimpleNamespace(id=t.id, phone=t.phone) for t in (a, b))
    a.client, b.client = app.test_client(), app.test_client()
    login(a.client, a.phone)
    login(b.client, b.phone)
    return a, b


def bound_trainee(app, openid: str) -> int | None:
    with app.app_context():
        return db.session.execute(
            db.select(WechatBinding.trainee_id).where(WechatBinding.openid == openid)
        ).scalar_one_or_none()


def call(client, route: OwnedRoute, ident: int):
    return client.open(route.url.format(id=ident), method=route.method, json=route.json)


@pytest.mark.parametrize("route", OWNED_ROUTES, ids=lambda r: f"{r.method} {r.url}")
def test_another_trainees_resource_is_not_found(app, two, route):
    a, b = two
    ident = MAKERS[route.resource](app, a.client, a)
    theirs = call(b.client, route, ident)
    assert theirs.status_code == 404
    if route.owner_status is not None:  # the owner's own: the URL works
        assert call(a.client, route, ident).status_code == route.owner_status
    # Guessing ids gives 404, never 403: a 403 would confirm that the id exists, and walking
    # the ids would count (and date) every certificate or order of the service. Someone
    # else's id and an id that exists nowhere must be indistinguishable.
    guesses = (
        (ident + 1, ident + 1000, 2**31 - 1)
        if isinstance(ident, int)
        else (ident[:-1] + ("0" if ident[-1] != "0" else "1"), "2025061600000000000000")
    )
    for guess in guesses:
        missing = call(b.client, route, guess)
        assert missing.status_code == 404
        assert missing.get_data() == theirs.get_data()


def test_another_trainees_certificate_cannot_be_changed(app, two):
    a, b = two
    ident = make_certificate(app, a.client, a)
    before = a.client.get(f"/api/certificates/{ident}").get_json()
    # B asks for the certificate of A's plan: B has not bought it, and A's stays as it was.
    res = b.client.post(f"/api/plans/{before['plan_id']}/certificate")
    assert res.status_code == 409 and res.get_json()["error"] == "not_enrolled"
    assert a.client.get(f"/api/certificates/{ident}").get_json() == before
    assert b.client.get("/api/me/certificates").get_json()["items"] == []


def test_profile_and_binding_are_only_ever_the_callers_own(app, two):
    a, b = two
    # The routes take no trainee id: an id smuggled into the body is ignored.
    res = b.client.patch(
        "/api/me/profile", json={"id": a.id, "trainee_id": a.id, "archive_district": "万州区"}
    )
    assert res.status_code == 200 and res.get_json()["id"] == b.id
    assert a.client.get("/api/me").get_json()["archive_district"] is None
    res = b.client.post("/api/me/wechat/unbind", json={"trainee_id": a.id})
    assert res.get_json() == {"wechat_bound": False, "was_bound": False}
    assert bound_trainee(app, "o_owner_a_0000000000000001") == a.id


def test_a_session_signed_with_another_key_is_no_session(base_config, two, client):
    a, _ = two
    with app_with(base_config, SECRET_KEY="not-the-servers-key") as forger:
        forged = forger.test_client()
        with forged.session_transaction() as s:
            s["tid"], s["must_change"] = a.id, False
        cookie = forged.get_cookie("wxapp_session").value
    client.set_cookie("wxapp_session", cookie)
    assert client.get("/api/me").status_code == 401


def test_every_id_route_is_classified(app):
    owned = {r.url.replace("{id}", "<id>") for r in OWNED_ROUTES}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or not rule.arguments:
            continue
        shape = re.sub(r"<[^>]+>", "<id>", rule.rule)
        assert rule.rule in SHARED_ID_ROUTES or shape in owned, (
            f"{rule.rule}: whose is it? Add it to OWNED_ROUTES (one trainee's) or "
            "SHARED_ID_ROUTES in tests/api/test_authorization.py"
        )


# --- unit administrators ---


@pytest.fixture
def units(app):
    with app.app_context():
        mine = make_unit(name="垫江县中医院")
        other = make_unit(name="綦江区中医院", district="綦江区")
        admin = make_trainee(name="管理员", unit=mine)
        make_trainee(name="同事", unit=mine)
        make_trainee(name="外单位", unit=other)
        make_unit_admin(admin, mine)
        db.session.commit()
        return SimpleNamespace(mine=mine.id, other=other.id, admin=admin.phone)


def test_a_unit_administrator_sees_only_their_unit(client, units):
    login(client, units.admin)
    report = client.get(f"/api/units/{units.mine}/report")
    assert report.status_code == 200
    names = {t["name"] for t in report.get_json()["trainees"]}
    assert names == {"管理员", "同事"}
    other = client.get(f"/api/units/{units.other}/report")
    assert other.status_code == 403 and other.get_json()["error"] == "other_unit"
    # A unit that does not exist answers the same: the check does not load the unit.
    missing = client.get("/api/units/999999/report")
    assert missing.status_code == 403 and missing.get_data() == other.get_data()


def test_a_trainee_without_the_role_sees_no_report(client, two, units):
    a, _ = two
    for unit in (units.mine, units.other):
        res = a.client.get(f"/api/units/{unit}/report")
        assert res.status_code == 403 and res.get_json()["error"] == "not_unit_admin"


# --- the sandbox in production ---


def concrete(rule) -> str:
    return re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", rule.rule)


def test_no_sandbox_route_exists_in_production(app, base_config, tmp_path):
    sandbox = [r for r in app.url_map.iter_rules() if r.rule.startswith("/_sandbox")]
    assert len(sandbox) > 10  # the test app mounts them: the list below is real
    with app_with(base_config, **production_settings(tmp_path)) as production:
        client = production.test_client()
        for rule in sandbox:
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                res = client.open(concrete(rule), method=method)
                assert res.status_code == 404, f"{method} {rule.rule} answers in production"
        assert client.get("/_sandbox/").status_code == 404


# --- session cookies ---


def session_cookie_attributes(app, phone: str) -> set[str]:
    res = app.test_client().post("/api/login", json={"username": phone, "password": PASSWORD})
    assert res.status_code == 200
    cookie = next(h for h in res.headers.getlist("Set-Cookie") if h.startswith("wxapp_session="))
    return {part.strip().lower() for part in cookie.split(";")[1:]}


@pytest.mark.parametrize(
    ("base_url", "secure"), [("https://edu.example.cn", True), ("http://127.0.0.1:5000", False)]
)
def test_session_cookie_is_httponly_lax_and_secure_over_https(base_config, base_url, secure):
    with app_with(base_config, PUBLIC_BASE_URL=base_url) as app:
        try:
            with app.app_context():
                phone = make_trainee().phone
                db.session.commit()
            attributes = session_cookie_attributes(app, phone)
        finally:
            truncate_all(app)
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert ("secure" in attributes) is secure


# --- cross-site writes ---

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def state_changing_routes(app) -> list[tuple[str, str]]:
    return sorted(
        (method, concrete(rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/api/", "/auth/"))
        for method in rule.methods & WRITE_METHODS
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example.com"},
        {"Referer": "https://evil.example.com/page.html"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
    ids=["origin", "referer", "fetch-metadata"],
)
def test_every_state_changing_route_refuses_another_site(app, two, headers):
    a, _ = two
    routes = state_changing_routes(app)
    assert ("POST", "/api/login") in routes and ("PATCH", "/api/me/profile") in routes
    for method, url in routes:
        res = a.client.open(url, method=method, json={}, headers=headers)
        assert res.status_code == 403, f"{method} {url} accepted a cross-site request"
        assert res.get_json()["error"] == "cross_origin"
    # Nothing happened: not logged out, password and profile unchanged, still bound.
    me = a.client.get("/api/me")
    assert me.status_code == 200 and me.get_json()["name"] == "甲"
    login(a.client, a.phone)  # the password is still the same
    assert bound_trainee(app, "o_owner_a_0000000000000001") == a.id
