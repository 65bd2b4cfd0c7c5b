"""Resident ID numbers (GB 11643, 公民身份号码) and mainland mobile numbers: pure checks."""

from __future__ import annotations

import re
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # ISO 7064 MOD 11-2: index = weighted sum mod 11

# fullmatch, not `$`: `$` also matches before a trailing newline ("138...\n" passed).
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_ID_LOWER_X = re.compile(r"[0-9]{17}x")
_PHONE = re.compile(r"1[3-9][0-9]{9}")


class IdNumberError(ValueError):
    """Why an ID number is not acceptable; `reason` is a stable code, str() is Chinese."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def check_char(first17: str) -> str:
    total = sum((ord(d) - 48) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def validate_id_number(value: str) -> str:
    """Return the ID number if it is a valid 18-character resident ID, else raise IdNumberError.

    The notice asks for an upper-case X and no spaces or symbols; a lower-case x is refused
    with a message that says so rather than silently upper-cased.
    """
    if not isinstance(value, str):
        raise IdNumberError("format", "身份证号码格式错误")
    if _ID_LOWER_X.fullmatch(value):
        raise IdNumberError("lowercase_x", "身份证号码中的字母 X 请使用大写")
    if not _ID_SHAPE.fullmatch(value):
        if any(c.isspace() for c in value):
            raise IdNumberError("format", "身份证号码格式错误：前后及中间不能有空格")
        raise IdNumberError("format", "身份证号码格式错误：应为 18 位，最后一位可为大写 X")
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise IdNumberError("birth_date", "身份证号码中的出生日期无效") from None
    if birth.year < 1900 or birth > date.today():
        raise IdNumberError("birth_date", "身份证号码中的出生日期无效")
    if check_char(value[:17]) != value[17]:
        raise IdNumberError("checksum", "身份证号码校验位错误")
    return value


def has_id_number_shape(value: str) -> bool:
    """Whether `value` is shaped like an ID number (17 digits, then a digit or X); the birth
    date and check character are not checked."""
    return bool(_ID_SHAPE.fullmatch(value))


def is_mobile_number(value: str) -> bool:
    """Whether `value` is an 11-digit mainland mobile number."""
    return isinstance(value, str) and bool(_PHONE.fullmatch(value))


def validate_phone(value: str) -> str:
    if not is_mobile_number(value):
        raise ValueError("手机号码应为 11 位中国大陆手机号")
    return value


def initial_password(id_number: str) -> str:
    """The published initial password rule: edu@ + the last six characters of the ID number."""
    return "edu@" + id_number[-6:]


def mask_id_number(id_number: str) -> str:
    return id_number[:6] + "********" + id_number[-4:]
