"""Redis Cluster hash tags: the one place that says which keys share a slot.

Redis Cluster runs a script or a MULTI only when every key it names is in one hash slot,
and a key's slot is the CRC16 of the part between its first `{` and `}` (the hash tag).
Every key that belongs to one trainee starts with `trainee_tag(id)`, so the beacon's
script (play, chapter, entitlements, ended sessions, rate window) and the trainee's
other multi-key scripts and transactions stay on one slot; the SMS code keys of one phone
start with `phone_tag(phone)`. A key without a tag (a global work list such as the
progress dirty set, a wake-up list, a single cache entry) is never named in a script or
MULTI together with a tagged key: each module that keeps one says so where it is named.
"""

from __future__ import annotations


def trainee_tag(trainee_id: int) -> str:
    return f"{{t:{trainee_id}}}"


def phone_tag(phone: str) -> str:
    return f"{{p:{phone}}}"


def sms_asked_tag(asked: str) -> str:
    """The keys of what an SMS code was asked for (a phone typed, 忘记密码's username): its
    gap and day per purpose, apart from the phone's own (`phone_tag`)."""
    return f"{{sms:{asked}}}"


def username_tag(username: str) -> str:
    """The keys of a username as typed (login's count for a name of nobody's)."""
    return f"{{u:{username}}}"
