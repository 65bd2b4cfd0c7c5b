"""No endpoint of the foundation answers 500 to a malformed body, a wrong type or a missing field.

Every combination below must get a 4xx with a JSON message (and, for 422, the field).
"""

from __future__ import annotations

import itertools

import pytest

from models import db
from tests.factories import make_plan, make_trainee
from wxapp.accounts.idnumbers import initial_password

ODD_VALUES = [
    None, True, False, 0, -1, 2**70, 1.5, "", " ", "\x00", "a\x00b", "x" * 5000,
    "用户名", "13900000000", "500231198503070011", [], ["a"], {}, {"a": 1},
]  # fmt: skip

RAW_BODIES = [
    b"", b"null", b"[]", b"123", b'"text"', b"{", b'{"username": 1e999}', b"\xff\xfe\x00",
    b'{"username": "\\ud800", "password": "x"}', b'{"username": "\\u0000", "password": "x"}',
    b'{"old_password": "\\udfff", "new_password": "\\u0000abc12345"}',
]  # fmt: skip

FIELDS = {
    "/api/login": ("username", "password"),
    "/api/me/password": ("old_password", "new_password"),
}


def bodies(fields: tuple[str, ...]):
    good = {"username": "13900000000", "password": "Passw0rd!"}
    good |= {"old_password": "Passw0rd!", "new_password": "NewPass123"}
    base = {f: good[f] for f in fields}
    yield {}
    for field in fields:
        yield {k: v for k, v in base.items() if k != field}  # missing
        for value in ODD_VALUES:
            yield {**base, field: value}
    for a, b in itertools.product(ODD_VALUES[:8], repeat=2):
        yield dict(zip(fields, (a, b), strict=True))


def assert_4xx(res, what) -> None:
    assert 400 <= res.status_code < 500, (what, res.status_code, res.get_data(as_text=True))
    assert res.is_json and res.json["message"], what
    if res.status_code == 422:
        assert res.json["field"], what


@pytest.fixture
def session_of(app):
    """A client signed in as a trainee with a password, or a bulk-imported one (must change)."""

    def make(client, must_change: bool):
        with app.app_context():
            trainee = make_trainee(password=None if must_change else "Passw0rd!")
            db.session.commit()
            username = trainee.id_number
            password = initial_password(username) if must_change else "Passw0rd!"
        res = client.post("/api/login", json={"username": username, "password": password})
        assert res.status_code == 200
        return client

    return make


@pytest.mark.parametrize("path", list(FIELDS))
@pytest.mark.parametrize("state", ["anonymous", "signed_in", "must_change"])
def test_json_bodies_never_500(app, session_of, path, state):
    client = app.test_client()
    if state != "anonymous":
        session_of(client, must_change=state == "must_change")
    for body in bodies(FIELDS[path]):
        assert_4xx_or_ok(client.post(path, json=body), (path, body))
        app.extensions["redis"].flushdb()  # keep the lockout out of the way
    for raw in RAW_BODIES:
        for content_type in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
            res = client.post(path, data=raw, content_type=content_type)
            assert_4xx(res, (path, raw, content_type))


def assert_4xx_or_ok(res, what) -> None:
    """Odd but well-typed bodies may even succeed (a good password change): never a 500."""
    if res.status_code < 400:
        return
    assert_4xx(res, what)


QUERIES = [
    "year=", "year=abc", "year=-1", "year=2025.5", "year=1e3", "year=%00", "year=%E4%B8%AD",
    "year=2025&year=x", "year=99999999999999999999999999999", "kind=", "kind=%00", "kind=[]",
    "kind=public&kind=x", "kind=%ED%A0%80", "page=-1", "page=0x10", "per_page=%00",
    "page=99999999999999999999", "per_page=0",
]  # fmt: skip


def test_odd_queries_and_ids_never_500(app, session_of):
    client = session_of(app.test_client(), must_change=False)
    with app.app_context():
        plan = make_plan(courses=1)
        db.session.commit()
        plan_id, course_id = plan.id, plan.courses[0].course_id
    for query in QUERIES:
        for path in ("/api/plans", f"/api/plans/{plan_id}"):
            assert_4xx_or_ok(client.get(f"{path}?{query}"), (path, query))
    for ident in ("0", "-1", "1.5", "abc", "%00", "9" * 30, "2147483647", "2147483648"):
        for path in ("/api/plans/", "/api/courses/"):
            assert_4xx(client.get(path + ident), path + ident)
    assert client.get(f"/api/courses/{course_id}").status_code == 200


DEEP_BODIES = [b"[" * 3000, b'{"a":' * 3000, b"[" * 100_000]


@pytest.mark.parametrize("path", ["/api/login", "/api/me/password", "/api/orders"])
@pytest.mark.parametrize("body", DEEP_BODIES, ids=["list", "object", "long"])
def test_deeply_nested_json_is_a_422_naming_the_body(app, client, path, body):
    """The JSON parser's RecursionError was a 500 with a traceback on every JSON route."""
    with app.app_context():
        trainee = make_trainee(password="Passw0rd!")
        db.session.commit()
        tid = trainee.id
    with client.session_transaction() as s:
        s.update({"tid": tid, "must_change": False})
    res = client.post(path, data=body, content_type="application/json")
    # Bodies over a route's limit are refused unread (413) before any parsing.
    assert res.status_code == (413 if len(body) > 4096 and path != "/api/orders" else 422)
    if res.status_code == 422:
        assert res.json["field"] == "body"
        assert res.json["message"] == "请求体 JSON 嵌套层数过多"


def test_deeply_nested_beacon_is_a_422(app, client):
    with client.session_transaction() as s:
        s.update({"tid": 1, "must_change": False})
    res = client.post("/api/beacons", data=b"[" * 3000, content_type="application/json")
    assert res.status_code == 422


def test_a_message_naming_a_field_names_it_as_the_page_does(client, session_of):
    """The message is shown to people: it says 身份证号码, not the JSON key id_numbers (the key
    stays in `field`, for the page to find the input)."""
    session_of(client, must_change=False)
    with client.application.app_context():
        plan = make_plan()
        db.session.commit()
        plan_id = plan.id
    empty = client.post("/api/group-orders", json={"plan_id": plan_id, "id_numbers": ""})
    assert (empty.status_code, empty.json["field"]) == (422, "id_numbers")
    assert empty.json["message"] == "身份证号码不能为空"
    missing = client.post("/api/login", json={"username": "13900000000"})
    assert (missing.json["field"], missing.json["message"]) == ("password", "缺少密码")
    year = client.get("/api/me/progress?year=1999")
    assert (year.status_code, year.json["field"]) == (422, "year")
    assert year.json["message"] == "年度超出范围"
    assert not any(key in r.json["message"] for r in (empty, missing, year) for key in "_abcdefgh")
