"""Wrong passwords sent all at once get no more guesses than sent one by one: 5 per account
(then its 15-minute lock), whether at login or typed again in a session, and 30 failures a
minute per address. Each attempt is counted before its hash; counted after, a burst all
passed the checks before the first failure was counted (15 guesses in one burst)."""

from __future__ import annotations

import threading
from collections import Counter

from models import db
from tests.factories import make_trainee, sign_in
from tests.integration.test_progress_concurrency import run_together
from wxapp.accounts import lockout, trainees
from wxapp.infra import limits


def _counting_hashes(monkeypatch) -> list[int]:
    """Every password compared with a stored hash, counted."""
    compared: list[int] = []
    lock = threading.Lock()
    real = trainees.verify_password

    def counted(stored, password):
        with lock:
            compared.append(1)
        return real(stored, password)

    monkeypatch.setattr(trainees, "verify_password", counted)
    return compared


def _account(app, name: str = "张三") -> tuple[int, str]:
    with app.app_context():
        trainee = make_trainee(name=name)
        db.session.commit()
        return trainee.id, trainee.phone


def test_a_burst_of_logins_guesses_an_account_five_times_at_most(live_app, monkeypatch):
    _, phone = _account(live_app)
    compared = _counting_hashes(monkeypatch)

    def guess(i: int):
        reply = live_app.test_client().post(
            "/api/login",
            json={"username": phone, "password": f"Wrong-{i}x"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"},  # only the account's lock applies
        )
        return reply.status_code, reply.json.get("error")

    replies = Counter(run_together([lambda i=i: guess(i) for i in range(18)]))
    assert len(compared) <= lockout.MAX_FAILURES, replies
    assert replies[(401, "bad_credentials")] <= lockout.MAX_FAILURES - 1, replies
    assert set(replies) <= {(401, "bad_credentials"), (429, "locked")}, replies
    # And the account is locked now, for the right password too.
    right = live_app.test_client().post(
        "/api/login", json={"username": phone, "password": "Passw0rd!"}
    )
    assert right.status_code == 429 and right.json["error"] == "locked"


def test_a_burst_in_one_session_guesses_the_password_five_times_at_most(live_app, monkeypatch):
    tid, _ = _account(live_app)
    compared = _counting_hashes(monkeypatch)

    def guess(i: int):
        client = live_app.test_client()
        sign_in(client, tid)
        reply = client.post(
            "/api/me/password",
            json={"old_password": f"Wrong-{i}x", "new_password": "N3wSecret99"},
        )
        return reply.status_code, reply.json.get("error")

    replies = Counter(run_together([lambda i=i: guess(i) for i in range(40)]))
    assert len(compared) <= lockout.MAX_FAILURES, replies
    assert replies[(422, "bad_old_password")] <= lockout.MAX_FAILURES - 1, replies


def test_a_burst_from_one_address_fails_thirty_times_a_minute_at_most(live_app, monkeypatch):
    phones = [_account(live_app, name=f"学员{i}")[1] for i in range(45)]
    compared = _counting_hashes(monkeypatch)

    def guess(i: int):
        reply = live_app.test_client().post(
            "/api/login",
            json={"username": phones[i], "password": f"Wrong-{i}x"},
            environ_base={"REMOTE_ADDR": "10.9.9.9"},
        )
        return reply.status_code, reply.json.get("error")

    replies = Counter(run_together([lambda i=i: guess(i) for i in range(45)]))
    assert len(compared) <= limits.LOGIN.count, replies
    assert replies[(429, "rate_limited")] >= 45 - limits.LOGIN.count, replies


def test_right_passwords_from_one_address_are_not_counted_as_failures(live_app):
    """Colleagues behind one NAT address: their successful logins use none of the 30."""
    phones = [_account(live_app, name=f"同事{i}")[1] for i in range(35)]

    def login(phone: str):
        return (
            live_app.test_client()
            .post(
                "/api/login",
                json={"username": phone, "password": "Passw0rd!"},
                environ_base={"REMOTE_ADDR": "10.8.8.8"},
            )
            .status_code
        )

    assert [login(p) for p in phones] == [200] * 35
    wrong = live_app.test_client().post(
        "/api/login",
        json={"username": phones[0], "password": "Wrong-1x"},
        environ_base={"REMOTE_ADDR": "10.8.8.8"},
    )
    assert wrong.status_code == 401 and wrong.json["error"] == "bad_credentials"


def test_a_check_that_ends_neither_right_nor_wrong_does_not_count_toward_the_lock(
    live_app, monkeypatch
):
    """No hash slot free (503 busy) five times: the owner, typing the right password each
    time, is not locked out by answers that were never a wrong password."""
    from wxapp.errors import ServiceUnavailable

    _, phone = _account(live_app)
    real = trainees.password_matches
    calls = []

    def busy_five_times(trainee, password, **how):
        calls.append(1)
        if len(calls) <= 5:
            raise ServiceUnavailable("当前登录人数较多，请稍后再试", code="busy", retry_after=5)
        return real(trainee, password, **how)

    monkeypatch.setattr(trainees, "password_matches", busy_five_times)
    client = live_app.test_client()
    for i in range(5):
        busy = client.post(
            "/api/login",
            json={"username": phone, "password": "Passw0rd!"},
            environ_base={"REMOTE_ADDR": f"10.0.1.{i + 1}"},
        )
        assert busy.status_code == 503
    right = client.post("/api/login", json={"username": phone, "password": "Passw0rd!"})
    assert right.status_code == 200, right.json


def test_a_count_is_given_back_to_its_own_window_only(live_app):
    """A right password whose check outlived its minute gives nothing back to the next
    minute's failures (else each such login would buy one more guess there)."""
    from wxapp.infra import ratelimit

    r = live_app.extensions["redis"]
    limit = ratelimit.Limit("burst_test", 30, 60, "稍后再试")
    key = f"rl:{limit.name}:10.7.7.7"
    ratelimit.hit(r, limit, "10.7.7.7")
    ratelimit.give_back(r, limit, "10.7.7.7", counted_s_ago=0.0)
    assert r.get(key) == "0"  # the same window: given back

    ratelimit.hit(r, limit, "10.7.7.7")  # counted, then its check runs past the minute
    r.delete(key)  # the minute ends
    for _ in range(3):
        ratelimit.hit(r, limit, "10.7.7.7")  # the next minute's failures
    ratelimit.give_back(r, limit, "10.7.7.7", counted_s_ago=5.0)
    assert r.get(key) == "3"
