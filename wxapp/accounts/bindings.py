"""Which trainee a WeChat user (openid) is: binding, unbinding, following.

An openid names at most one trainee and a trainee has at most one openid: binding one
replaces whatever either side was bound to before. Who may bind is `wechat_login`'s rule
(网页授权 in the same browser, an activated account's password, and an SMS code when the
account was bound to another WeChat user). These are helpers: the use cases that call
them (`wechat_login`, `trainees.store_password`'s callers, `conversation.dispatch`)
commit.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import WechatBinding, db
from wxapp.errors import Conflict
from wxapp.infra.dbutil import insert_ignore


def trainee_for_openid(openid: str, *, share_lock: bool = False) -> int | None:
    """The trainee `openid` is bound to; `share_lock` waits for an unbind (or a rebind)
    being committed, and holds the row until the caller's transaction ends."""
    query = sa.select(WechatBinding.trainee_id).where(WechatBinding.openid == openid)
    if share_lock:
        query = query.with_for_update(read=True)
    return db.session.execute(query).scalar_one_or_none()


def openid_of(trainee_id: int) -> str | None:
    """The WeChat user the trainee is bound to, if any."""
    return db.session.execute(
        sa.select(WechatBinding.openid).where(WechatBinding.trainee_id == trainee_id)
    ).scalar_one_or_none()


def bind(openid: str, trainee_id: int, now: datetime) -> None:
    """Bind `openid` to `trainee_id`, replacing older bindings of either (caller commits)."""
    try:
        db.session.execute(
            sa.delete(WechatBinding).where(
                sa.or_(WechatBinding.openid == openid, WechatBinding.trainee_id == trainee_id)
            )
        )
        db.session.add(
            WechatBinding(
                openid=openid, trainee_id=trainee_id, following=True, bound_at=now, updated_at=now
            )
        )
        db.session.flush()  # a race shows here, inside the try; the caller's block rolls back
    except IntegrityError:
        # Two binds of the same openid or trainee raced; the other one won.
        raise Conflict("绑定冲突，请稍后重试", code="bind_conflict") from None


def bind_if_free(openid: str, trainee_id: int, now: datetime) -> bool:
    """Bind `openid` to `trainee_id`, which has no binding yet, unless the openid is bound
    already; whether it bound (caller commits). One statement: a binding committed by
    another request after the caller looked is never replaced."""
    row = {
        "openid": openid,
        "trainee_id": trainee_id,
        "following": True,
        "bound_at": now,
        "updated_at": now,
    }
    statement = insert_ignore(WechatBinding.__table__, row, ["openid"])
    return db.session.execute(statement).rowcount == 1


def unbind(trainee_id: int) -> bool:
    """Remove the trainee's binding; False if there was none (caller commits)."""
    deleted = db.session.execute(
        sa.delete(WechatBinding).where(WechatBinding.trainee_id == trainee_id)
    ).rowcount
    return bool(deleted)


def set_following(openid: str, following: bool, at: datetime, now: datetime) -> None:
    """Record a subscribe/unsubscribe WeChat sent at `at`; notifications go only to
    followers (caller commits). WeChat does not deliver its events in order: one older than
    the last applied (an unsubscribe retried after the user followed again) is ignored."""
    db.session.execute(
        sa.update(WechatBinding)
        .where(
            WechatBinding.openid == openid,
            sa.or_(WechatBinding.following_at.is_(None), WechatBinding.following_at <= at),
        )
        .values(following=following, following_at=at, updated_at=now)
    )
