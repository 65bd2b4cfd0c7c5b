"""How numbers read wherever people see them: 学时 and money (分 shown as 元); and which
texts can be kept at all.

Pure (no framework, no database): the pure cores of progress, notifications and
certificates use these too, which is why they live here and not in one of those areas.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal


def hours_number(hours: Decimal | int) -> str:
    """学时 as people write them: 30, 12.5 (no trailing zeros, no exponent).

    Decimal("60.0") -> "60", Decimal("12.50") -> "12.5", Decimal("1E+2") -> "100".
    """
    return format(Decimal(hours).normalize(), "f")


def yuan(fen: int) -> str:
    """Integer 分 as 元 with two decimals, as bills and invoices write them: 9000 -> "90.00",
    5 -> "0.05", -150 -> "-1.50" (money is integer 分 everywhere)."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def storable(value: str) -> bool:
    """Whether text can be stored: PostgreSQL refuses NUL, and a lone surrogate cannot be
    encoded. Input with either is refused naming its field (422), not a 500 at the query."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def one_visible_line(value: str) -> bool:
    """Whether text is one line of what it shows: no control character (a line break, a
    tab) and no invisible format character (U+202E and the other direction overrides, zero
    widths), which make a title read on screen otherwise than the characters it holds, and
    so otherwise than what 财务 copies into the tax system."""
    return not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value)


def mask_name(name: str) -> str:
    """ "王五" -> "王*", "欧阳娜娜" -> "欧**娜": enough for someone who knows the person."""
    if len(name) <= 2:
        return name[:1] + "*" * (len(name) - 1)
    return name[0] + "*" * (len(name) - 2) + name[-1]


# Customer service for accounts (登录注册问题), as the notice gives it.
SERVICE_PHONES = "400-023-9229（按 1 选择登录注册问题）"
# Where a unit sends the 学员注册名单 (附件2) of more than 10 unregistered staff, for the
# centre to register them within 2 working days (the notice).
REGISTRATION_EMAIL = "2020gxkm@cqhrsp.com"
