"""Known devices: a browser where the account's owner has logged in before.

Every ID number is public, so anyone can make an account's password lockout and its phone's
daily SMS cap run out: five wrong passwords every 15 minutes, ten 忘记密码 codes in a day.
Counted for the account alone, that would keep its owner out of login and of 忘记密码 for
the whole day. So a browser that has been in a session of the account carries a device
token (a long-lived cookie, signed with SECRET_KEY by itsdangerous): the "device cookie"
defence against lockout attacks that OWASP's authentication guidance describes.

- A password typed on a known device of the account counts against that device's own lock
  and per-username budget (the same sizes), not the account's: a stranger's failures
  elsewhere do not shut it out, and the failures made on it lock nobody else out.
- A 忘记密码 code asked for there may use a small daily allowance of the owner's own when the
  phone's cap is spent (sms_limits.OWNER_DAILY_CAP), which strangers cannot spend.

A token is issued only for a session that proves the owner: a password that is not the
published initial one (a roster account gets its token at activation), a WeChat user
bound to the account, a new registration or a reset, and it is signed again at each. It
logs nobody in. One cookie holds up to MAX_ACCOUNTS accounts (colleagues sharing an office
PC), each with a random nonce and a fingerprint of the account's password hash when it was
issued: a new password (a change, 忘记密码, activation, customer service's temporary one)
makes every device token of before count as a stranger's, so whoever once knew the
password keeps nothing of it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE_NAME = "wxapp_device"
MAX_AGE_S = 365 * 24 * 3600
MAX_ACCOUNTS = 5
_SALT = "wxapp.accounts.devices"


def fingerprint(password_hash: str | None) -> str:
    """What a device token is valid for: the account's password hash as it was (16 hex)."""
    return hashlib.sha256(f"device:{password_hash}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Device:
    """One account a browser is a known device of: its id, the token's nonce (what the
    device's own counts are kept under) and the password fingerprint it was issued for."""

    trainee_id: int
    nonce: str
    password: str


@dataclass(frozen=True)
class KnownDevices:
    """The accounts a browser is a known device of, the most recent first."""

    entries: tuple[Device, ...] = ()

    def of(self, trainee_id: int, password_hash: str | None) -> Device | None:
        """This browser as a device of the account, if it is one under its current password."""
        want = fingerprint(password_hash)
        for device in self.entries:
            if device.trainee_id == trainee_id and device.password == want:
                return device
        return None

    def remembering(self, trainee_id: int, password_hash: str | None) -> KnownDevices:
        """These devices with the account first, under its current password (the nonce it
        had is kept, so its counts carry on), and at most MAX_ACCOUNTS in all."""
        held = self.of(trainee_id, password_hash)
        nonce = held.nonce if held is not None else secrets.token_hex(8)
        first = Device(trainee_id, nonce, fingerprint(password_hash))
        rest = tuple(d for d in self.entries if d.trainee_id != trainee_id)
        return KnownDevices((first, *rest)[:MAX_ACCOUNTS])


NO_DEVICES = KnownDevices()


def _serializer(keys: Sequence[str]) -> URLSafeTimedSerializer:
    """`keys`: SECRET_KEY, then SECRET_KEY_FALLBACKS (itsdangerous wants the newest last)."""
    return URLSafeTimedSerializer(list(reversed(keys)), salt=_SALT)


def issue(keys: Sequence[str], known: KnownDevices) -> str:
    """The token for these devices, signed with the first of `keys`."""
    return _serializer(keys).dumps([[d.trainee_id, d.nonce, d.password] for d in known.entries])


def read(keys: Sequence[str], token: str | None) -> KnownDevices:
    """The devices a token names; none for no token, a forged, altered or expired one."""
    if not token:
        return NO_DEVICES
    try:
        value = _serializer(keys).loads(token, max_age=MAX_AGE_S)
    except BadSignature:  # SignatureExpired included
        return NO_DEVICES
    if not isinstance(value, list):
        return NO_DEVICES
    entries = []
    for item in value[:MAX_ACCOUNTS]:
        match item:
            case [int(trainee_id), str(nonce), str(password)] if not isinstance(trainee_id, bool):
                entries.append(Device(trainee_id, nonce, password))
    return KnownDevices(tuple(entries))
