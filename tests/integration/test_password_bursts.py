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
from wxapp.accounts import trainees
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
    assert len(compared) <= trainees.MAX_FAILURES, replies
    assert replies[(401, "bad_credentials")] <= trainees.MAX_FAILURES - 1, replies
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
    assert len(compared) <= trainees.MAX_FAILURES, replies
    assert replies[(422, "bad_old_password")] <= trainees.MAX_FAILURES - 1, replies


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
