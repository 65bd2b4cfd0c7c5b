"""Known devices: a browser where the account's owner has logged in before.

Every ID number is public, so anyone can make an account's password lockout and its phone's
daily SMS cap run out: five wrong passwords every 15 minutes, ten 忘记密码 codes in a day.
Counted for the account alone, that would keep its owner out of login and of 忘记密码 for
the whole day. So a browser that has been in a session of the account carries a device
token (a long-lived cookie, signed with SECRET_KEY by itsdangerous): the "device cookie"
defence against lockout attacks that OWASP's authentication guidance describes.

- A password typed on the account's own known device counts against that device's lock
  (the same 5 failures in 15 minutes), not the account's: a stranger's failures elsewhere
  do not shut it out, and the failures made on it do not lock the account for anyone else.
- A 忘记密码 code asked for on such a device is counted against a small daily allowance of
  its own per phone (sms_codes.OWN_DEVICE_DAILY_CAP), which strangers cannot spend.

A token is issued only for a session that proves the owner: a password that is not the
published initial one (a roster account gets its token at activation), a WeChat user
bound to the account, a new registration or a reset. It names one account (the last one
to log in on the browser) and a random nonce; it does not log anyone in, and a stolen
one gives only a budget of guesses the size of the account's own.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE_NAME = "wxapp_device"
MAX_AGE_S = 365 * 24 * 3600
_SALT = "wxapp.accounts.devices"


@dataclass(frozen=True)
class Device:
    """The account a browser's device token names, and the token's own nonce."""

    trainee_id: int
    nonce: str

    def is_of(self, trainee_id: int) -> bool:
        return self.trainee_id == trainee_id


def _serializer(keys: Sequence[str]) -> URLSafeTimedSerializer:
    """`keys`: SECRET_KEY, then SECRET_KEY_FALLBACKS (itsdangerous wants the newest last)."""
    return URLSafeTimedSerializer(list(reversed(keys)), salt=_SALT)


def issue(keys: Sequence[str], trainee_id: int) -> str:
    """A new device token for the account, signed with the first of `keys`."""
    return _serializer(keys).dumps([trainee_id, secrets.token_hex(8)])


def read(keys: Sequence[str], token: str | None) -> Device | None:
    """The device a token names; None for no token, a forged, altered or expired one."""
    if not token:
        return None
    try:
        value = _serializer(keys).loads(token, max_age=MAX_AGE_S)
    except BadSignature:  # SignatureExpired included
        return None
    match value:
        case [int(trainee_id), str(nonce)] if not isinstance(trainee_id, bool):
            return Device(trainee_id, nonce)
    return None
