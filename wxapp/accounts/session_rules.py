"""When a session has ended: the pure rule, and what a session cookie carries for it.

A trainee's sessions are ended in Redis (`session_ends`), never by waiting for the cookie
to expire: a signed cookie cannot be taken back, so the server keeps, per trainee, a
session generation (the epoch) and the sessions ended one by one (logout). A cookie is
ended when it was started under an earlier epoch, or when its own session id was ended.

The same rule runs in three places that must agree: here (every Flask request, through
`sessions.SessionInterface.open_session`), in the beacon's Lua script (progress/beacon.lua)
and in its pure twin (progress/core.py `apply_beacon`).

- A cookie without an epoch (signed before epochs existed) counts as epoch 0, and a
  trainee with no epoch stored (never ended, or Redis lost it) counts as 0: a deploy or a
  cold Redis logs nobody out.
- An epoch is a millisecond time, never less than one more than the stored epoch, so an
  ending after Redis lost the epoch still ends every session started before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The session cookie's fields (Flask's signed cookie; handlers/guard.py starts sessions).
TRAINEE = "tid"
MUST_CHANGE = "must_change"
EPOCH = "ep"
SESSION_ID = "sid"

ENDED_CODE = "session_ended"
ENDED_MESSAGE = "登录已失效，请重新登录"

# SESSION_LIFETIME_DAYS may not exceed this: what Redis keeps of ended sessions outlives
# every cookie they could have ended (session_ends.KEEP_S).
MAX_LIFETIME_DAYS = 31


@dataclass(frozen=True)
class SessionMark:
    """What a cookie says about its session: the epoch it was started under, and its id."""

    epoch: int = 0
    session_id: str = ""  # "" in cookies signed before session ids existed


@dataclass(frozen=True)
class EndedSessions:
    """What the server keeps of a trainee's ended sessions."""

    epoch: int = 0  # every session started under an earlier epoch has ended
    ended_ids: frozenset[str] = field(default_factory=frozenset)  # ended one by one


NO_MARK = SessionMark()  # a cookie signed before epochs and session ids existed
NOTHING_ENDED = EndedSessions()


def mark_of(opened: Mapping[str, Any]) -> SessionMark:
    """The mark of an opened session; a missing or malformed field counts as none."""
    epoch = opened.get(EPOCH, 0)
    sid = opened.get(SESSION_ID, "")
    return SessionMark(
        epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else 0,
        sid if isinstance(sid, str) else "",
    )


def is_ended(mark: SessionMark, ended: EndedSessions) -> bool:
    return mark.epoch < ended.epoch or (
        mark.session_id != "" and mark.session_id in ended.ended_ids
    )


def next_epoch(stored: int, now_ms: int) -> int:
    """The epoch an ending sets: above the stored one, and above every epoch handed out
    before Redis could have lost it (they were all times no later than their ending)."""
    return max(stored + 1, now_ms)
