"""忘记密码: a new password for whoever receives the SMS code sent to the account's phone.

The username is a phone number or an ID number, as for login. Every ID number is public,
so the flow is built to tell a stranger as little as it can:

- The code goes only to the phone on the account; for an ID number the answer names that
  phone by its last four digits only (*******8001), what the page shows so that its owner
  knows where to look. Not the first three: a made-up phone's prefix would have to follow
  the real ones' distribution, and any prefix no made-up phone has would prove an account.
  For a phone number the answer masks it as usual (138****8001). It is bounded: the SMS
  limits of `sms_codes` (one send a minute and 10 a day per username asked by, 30 a day per
  address) and the per-address limit of the handlers hold for every username, known or not.
  The phone's own minute and day (whichever username, or another flow, spent them) hold the
  send back silently: answered as sent, they tell nobody which phone an ID number's send
  reached. A stranger can spend a phone's 10 a day; on a known device of the account
  (wxapp/accounts/devices.py) its owner has an allowance of their own.
- A username that names no account (or an account without a phone) gets the same answer,
  the same limits and the same wait (one of the recent real sends' durations), and no SMS:
  a phone number is shown masked as itself, an ID number gets a made-up last four digits
  that stay the same for that ID number (an HMAC under a key of the service's own, never
  rotated: one under SECRET_KEY changed with it for the unknown ID numbers alone), so asking
  twice, or before and after a key rotation, does not tell it apart.
- A real send that the SMS service refuses (an outage, an empty SMS package, its own limit
  on the number) is answered and limited as if sent: a pretended send cannot fail, so a
  503 would name an account (on a known device of the account, the owner is told 503).
  The owner gets no SMS and asks again after the minute; the failure is logged at ERROR
  for the operators.
- The reset itself fails with the same `bad_sms_code` for an unknown username as for a wrong
  code. The password rules that need no ID number (length, a letter and a digit) are checked
  first; those that need the account's ID number only once the code matched, before it is
  consumed, so a mistake in the new password does not spend the code and nobody without the
  code learns from them whether a phone has an account.

A reset sets the password, activates a roster account (the code proved its roster phone),
lifts a lockout, drops the WeChat binding and ends every session of the trainee; it does not
log in (the page sends the trainee to the login form).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import redis

from wxapp.accounts import sms_codes
from wxapp.accounts.devices import NO_DEVICES, KnownDevices
from wxapp.accounts.idnumbers import is_mobile_number
from wxapp.accounts.lockout import lift_lockout
from wxapp.accounts.trainees import (
    check_new_password,
    check_password_shape,
    counted_username,
    device_of,
    find_trainee,
    require_phone_unchanged,
    store_password,
)
from wxapp.errors import ValidationError
from wxapp.infra.service_secrets import service_secret
from wxapp.infra.transaction import transaction

# The name of the key (wxapp/infra/service_secrets.py) the made-up phones are made with.
MADE_UP_PHONE_KEY = "reset-made-up-phone"


def _made_up_phone(secret: str, username: str) -> str:
    """An unknown ID number's phone, the same for it every time: of it, as of a real one, the
    answer shows only the last four digits (`_shown`)."""
    digest = hmac.new(secret.encode(), b"reset-phone:" + username.encode(), hashlib.sha256)
    return f"1{int.from_bytes(digest.digest()[:8], 'big') % 10**10:010d}"


def _shown(username: str, sent: sms_codes.SentCode) -> sms_codes.SentCode:
    """The answer for `username`: asked by ID number, the phone's last four digits only."""
    if is_mobile_number(username):
        return sent
    return sms_codes.tail_only(sent)


def send_reset_code(
    r: redis.Redis,
    config: Mapping[str, Any],
    username: str,
    client_ip: str,
    now: datetime,
    known: KnownDevices = NO_DEVICES,
    *,
    by_operator: bool = False,
) -> sms_codes.SentCode:
    """An SMS code to the phone of the account `username` names; the same answer, limits
    and errors for a username that names none (then nothing is sent).

    Asked for on a known device of the account, or by customer service for the owner on the
    telephone (`by_operator`), the send is told the phone's own bounds and may use the
    owner's own daily allowance (`sms_limits.OWNER_DAILY_CAP`) once the phone's is spent."""
    trainee = find_trainee(username)
    if trainee is not None and trainee.phone:
        sent = sms_codes.send_code(
            r,
            config,
            trainee.phone,
            sms_codes.Purpose.RESET,
            client_ip,
            now,
            asked_as=username,
            by_owner=by_operator or device_of(trainee, known) is not None,
        )
        return _shown(username, sent)
    shown = (
        username
        if is_mobile_number(username)
        else _made_up_phone(service_secret(MADE_UP_PHONE_KEY), username)
    )
    return _shown(username, sms_codes.pretend_send(r, config, username, shown, client_ip, now))


def budget_name(username: str, known: KnownDevices) -> str:
    """Whom 忘记密码's per-username budget (limits.FORGOT) counts a call against: the
    username, or a known device's own share of it (`trainees.counted_username`)."""
    return counted_username(username, device_of(find_trainee(username), known))


def reset_password(
    r: redis.Redis, username: str, sms_code: str, new_password: str, now: datetime
) -> int:
    """Set a new password with the code sent to the account's phone; the trainee's id.
    Commits."""
    trainee = find_trainee(username)
    # The rules that need the account's ID number are told only to whoever holds the code:
    # else a password holding a phone's last six digits would answer differently for a
    # phone with an account (a code error) and one without (a password error).
    check_password_shape(new_password)
    if trainee is None or not trainee.phone:
        # The same try and the same answer as a wrong code (nothing is live under this key).
        sms_codes.check_code(r, username, sms_codes.Purpose.RESET, sms_code)
        raise ValidationError("sms_code", sms_codes.BAD_CODE_MESSAGE, code="bad_sms_code")
    id_number, phone = trainee.id_number, trainee.phone
    sms_codes.check_code(
        r,
        phone,
        sms_codes.Purpose.RESET,
        sms_code,
        then=lambda: check_new_password(new_password, id_number),
    )
    with transaction():
        require_phone_unchanged(trainee.id, phone)
        store_password(r, trainee, new_password, now)
    lift_lockout(r, trainee.id)
    return trainee.id
