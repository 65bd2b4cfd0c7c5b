"""Property tests of the ID-number (GB 11643) and mobile-number rules.

The oracle is written independently of wxapp/accounts/idnumbers.py: the check character from the
ISO 7064 MOD 11-2 definition (weights 2^(17-i) mod 11, check = (12 - sum mod 11) mod 11,
10 written X), the birth date from the calendar module.

(The progress core's property tests belong with the progress area, which is not in this
branch: the lead adds them on merge.)
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from wxapp.accounts.idnumbers import IdNumberError, validate_id_number, validate_phone

DIGITS = "0123456789"
# No per-example deadline on a shared 2-core machine; no example database in the worktree.
PROPERTY = settings(deadline=None, database=None, max_examples=300)


def iso7064_check(first17: str) -> str:
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def birth_date_is_valid(yyyymmdd: str) -> bool:
    year, month, day = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:])
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(max(year, 1), month)[1]:
        return False
    return year >= 1900 and date(year, month, day) <= date.today()


digits = st.text(alphabet=DIGITS, min_size=1, max_size=1)


def digit_string(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=DIGITS, min_size=n, max_size=n)


# Random digits almost never hold a valid date: mix in real dates around the limits.
birth_dates = st.one_of(
    digit_string(8),
    st.dates(date(1890, 1, 1), date.today() + timedelta(days=400)).map(
        lambda d: d.strftime("%Y%m%d")
    ),
)
first17s = st.builds(lambda r, b, s: r + b + s, digit_string(6), birth_dates, digit_string(3))


@PROPERTY
@given(first17s)
@example("11010519491231002")  # GB 11643's own example, check character X
@example("50023118990101001")  # the day before 1900
@example("50023120000229001")  # a leap day
@example("50023119000229001")  # 1900 was not a leap year
def test_the_computed_check_char_validates_iff_the_birth_date_is_valid(first17):
    number = first17 + iso7064_check(first17)
    if birth_date_is_valid(first17[6:14]):
        assert validate_id_number(number) == number
    else:
        try:
            validate_id_number(number)
        except IdNumberError as err:
            assert err.reason == "birth_date"
        else:
            raise AssertionError(f"{number} accepted with an invalid birth date")


@PROPERTY
@given(first17s, st.sampled_from("0123456789X"))
def test_any_other_check_char_fails(first17, char):
    assume(char != iso7064_check(first17))
    try:
        validate_id_number(first17 + char)
    except IdNumberError as err:
        assert err.reason in {"checksum", "birth_date"}
        assert err.reason == "checksum" or not birth_date_is_valid(first17[6:14])
    else:
        raise AssertionError(f"{first17 + char} accepted with a wrong check character")


@PROPERTY
@given(digit_string(17))
def test_lower_case_x_always_asks_for_upper_case(first17):
    try:
        validate_id_number(first17 + "x")
    except IdNumberError as err:
        assert err.reason == "lowercase_x"
        assert "大写" in str(err)
    else:
        raise AssertionError("lower-case x accepted")


@PROPERTY
@given(st.text(max_size=24))
@example("11010519491231002X\n")  # a valid number with a line break after it
@example("１１０１０５１９４９１２３１００２X")  # full-width digits
def test_anything_not_shaped_like_an_id_number_is_refused(text):
    shaped = len(text) == 18 and all(c in DIGITS for c in text[:17]) and (text[17] in DIGITS + "Xx")
    assume(not shaped)
    try:
        validate_id_number(text)
    except IdNumberError as err:
        assert err.reason == "format"
    else:
        raise AssertionError(f"{text!r} accepted")


def phone_oracle(text: str) -> bool:
    return (
        len(text) == 11
        and all(c in DIGITS for c in text)
        and text[0] == "1"
        and text[1] in "3456789"
    )


phones = st.one_of(
    st.builds(lambda a, b: "1" + a + b, st.sampled_from("3456789"), digit_string(9)),
    st.text(alphabet=DIGITS, min_size=9, max_size=13),
    st.text(max_size=14),
)


@PROPERTY
@given(phones)
@example("13800138000\n")
@example("1380013800０")
@example("+8613800138000")
def test_phone_rule_is_eleven_digits_starting_1_then_3_to_9(text):
    if phone_oracle(text):
        assert validate_phone(text) == text
    else:
        try:
            validate_phone(text)
        except ValueError as err:
            assert "11 位" in str(err)
        else:
            raise AssertionError(f"{text!r} accepted as a phone number")
