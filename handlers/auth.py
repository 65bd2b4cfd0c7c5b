"""Login, logout, the trainee's own profile and password."""

from flask import Blueprint, jsonify, session

from handlers import validation as v
from handlers.guard import (
    body_limit,
    current_trainee_id,
    known_devices,
    password_attempt,
    public,
    start_session,
)
from wxapp.accounts import activation, personal_info, session_ends
from wxapp.accounts import trainees as accounts
from wxapp.errors import ServiceUnavailable
from wxapp.extensions import app_now, get_redis
from wxapp.infra import limits

bp = Blueprint("auth", __name__, url_prefix="/api")


@bp.post("/login")
@public
@body_limit(limits.CREDENTIALS_BODY)
def login():
    with password_attempt(limits.LOGIN_ALL, limits.LOGIN):
        body = v.json_body()
        username = v.string(body, "username", max_len=18)
        password = v.string(body, "password", max_len=64, strip=False)
        verified = accounts.verify_credentials(get_redis(), username, password, known_devices())
    trainee = verified.trainee
    start_session(
        trainee.id, trainee.must_change_password, accounts.session_fields(get_redis(), verified)
    )
    if activation.needs_activation(trainee):
        # The initial password is public: the masked roster phone, and nothing else.
        return jsonify(activation.pending_reply(trainee))
    return jsonify(accounts.profile(trainee))


@bp.post("/logout")
@public
def logout():
    """Ends this browser's session (its cookie is refused from now on), not the others."""
    if getattr(session, "unavailable", False):
        # Redis could not be asked: nothing would be ended, and {"ok": true} would let a
        # copy of this cookie go on working. The page says to try again.
        raise ServiceUnavailable()
    session_ends.end_this_session(get_redis(), session, app_now())
    session.clear()
    return jsonify({"ok": True})


@bp.get("/me")
def me():
    return jsonify(personal_info.my_account(current_trainee_id()))


@bp.post("/me/password")
@body_limit(limits.CREDENTIALS_BODY)
def change_password():
    """For an activated account; one on its initial password activates by SMS instead."""
    with password_attempt(limits.LOGIN_ALL, limits.LOGIN):
        body = v.json_body()
        old = v.string(body, "old_password", max_len=64, strip=False)
        new = v.string(body, "new_password", max_len=64, strip=False)
        trainee = accounts.change_password(
            get_redis(), current_trainee_id(), old, new, app_now(), known_devices()
        )
    start_session(trainee.id, must_change=False)  # every other session has ended
    return jsonify(accounts.profile(trainee))
