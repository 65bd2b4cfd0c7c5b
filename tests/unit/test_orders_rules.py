"""Pure rules of the orders area: pasted lines, credit codes, invoice windows, payment checks."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from tests.factories import make_id_number
from wxapp.accounts.idnumbers import check_char
from wxapp.errors import Conflict
from wxapp.orders import group
from wxapp.orders.invoices import check_apply_window, check_modify_window
from wxapp.orders.payment import mismatch
from wxapp.orders.uscc import is_valid_uscc


def test_each_line_is_checked_as_the_notice_says():
    good = make_id_number(900_001)
    wrong_digit = good[:17] + ("0" if good[17] != "0" else "1")
    n = 900_100
    while not make_id_number(n).endswith("X"):
        n += 1
    with_x = make_id_number(n)
    text = "\n".join(
        [
            f"  {good}  ",  # 1: surrounding spaces refused (the notice: 前后不要有空格)
            "",  # 2: blank lines tolerated
            wrong_digit,  # 3
            with_x.lower(),  # 4
            good[:17],  # 5: 17 characters
            good[:9] + " " + good[9:],  # 6: a space inside
            good,  # 7: repeated
            with_x,  # 8: upper-case X is fine
            f"{good[:10]}\t张三",  # 9: two columns copied from Excel
        ]
    )
    accepted, rejects = group.check_lines(text)
    spaces = "身份证号码格式错误：前后及中间不能有空格"
    assert accepted == [(7, good), (8, with_x)]
    assert [(r.line, r.id_number, r.reason) for r in rejects] == [
        (1, good, spaces),
        (3, wrong_digit, "身份证号码校验位错误"),
        (4, with_x.lower(), "身份证号码中的字母 X 请使用大写"),
        (5, good[:17], "身份证号码格式错误：应为 18 位，最后一位可为大写 X"),
        (6, good[:9] + " " + good[9:], spaces),
        (9, f"{good[:10]}\t张三", spaces),
    ]
    # A repeat names the line it repeats, as the roster import does.
    _, repeats = group.check_lines(f"{good}\n{with_x}\n{good}\n")
    assert [(r.line, r.reason) for r in repeats] == [(3, "身份证号码与第 1 行重复")]


def test_crlf_and_blank_only_text():
    good = make_id_number(900_002)
    assert group.check_lines(f"\r\n{good}\r\n\r\n") == ([(2, good)], [])
    assert group.check_lines("  \n\t\n") == ([], [])


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("9144030071526726XG", True),  # a real published code
        ("91110000802100433B", True),
        ("9144030071526726XA", False),  # wrong check character
        ("9144030071526726X", False),  # 17 characters
        ("9144030071526726IG", False),  # I is not in the GB 32100 set
        ("9144030071526726xg", False),  # lower case
    ],
)
def test_unified_social_credit_code(code, ok):
    assert is_valid_uscc(code) is ok


def shanghai(y, m, d, h=12):
    return datetime(y, m, d, h, tzinfo=UTC) - timedelta(hours=8)


def test_apply_only_in_the_calendar_year_of_payment_shanghai_time():
    paid = shanghai(2025, 12, 31, 23)
    check_apply_window(paid, shanghai(2025, 12, 31, 23) + timedelta(minutes=59))
    with pytest.raises(Conflict, match="缴费当年"):
        check_apply_window(paid, shanghai(2026, 1, 1, 0) + timedelta(minutes=1))
    # 2025-12-31 20:00 UTC is already 2026 in Shanghai: the year of payment is 2026.
    check_apply_window(datetime(2025, 12, 31, 20, tzinfo=UTC), shanghai(2026, 3, 1))


def test_modify_once_within_fifteen_days():
    issued = shanghai(2025, 6, 1)
    check_modify_window(issued, 0, issued + timedelta(days=15))
    with pytest.raises(Conflict, match="15 日"):
        check_modify_window(issued, 0, issued + timedelta(days=15, seconds=1))
    with pytest.raises(Conflict, match="1 次"):
        check_modify_window(issued, 1, issued + timedelta(days=1))


def test_a_transaction_must_match_the_order():
    order = SimpleNamespace(amount_fen=9000)
    tx = {
        "mchid": "m",
        "appid": "a",
        "transaction_id": "42",
        "amount": {"total": 9000, "currency": "CNY"},
    }
    assert mismatch(tx, order, "m", "a") is None
    assert mismatch({**tx, "mchid": "x"}, order, "m", "a") == "mchid_mismatch"
    assert mismatch({**tx, "appid": "x"}, order, "m", "a") == "appid_mismatch"
    assert mismatch({**tx, "amount": {"total": 8999}}, order, "m", "a") == "amount_mismatch"
    assert mismatch({**tx, "amount": {"total": "9000"}}, order, "m", "a") == "amount_mismatch"
    assert mismatch({**tx, "transaction_id": ""}, order, "m", "a") == "missing_transaction_id"


def test_check_char_of_factory_numbers_is_consistent():
    number = make_id_number(900_003)
    assert check_char(number[:17]) == number[17]
