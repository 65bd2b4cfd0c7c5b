"""GB 11643 resident ID numbers and mobile numbers, with real valid and invalid numbers."""

import pytest

from wxapp.accounts.idnumbers import (
    IdNumberError,
    check_char,
    initial_password,
    mask_id_number,
    validate_id_number,
    validate_phone,
)

# Published examples whose check characters are known (the GB 11643 example and others).
VALID = ["11010519491231002X", "440524198001010013", "11010119900307803X", "50023119850307001X"]


@pytest.mark.parametrize("number", VALID)
def test_valid_numbers_pass(number):
    assert validate_id_number(number) == number


def test_check_char_matches_the_standard_example():
    assert check_char("11010519491231002") == "X"
    assert check_char("44052419800101001") == "3"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("11010519491231002x", "lowercase_x"),
        ("110105194912310021", "checksum"),
        ("440524198001010015", "checksum"),
        ("11010519491331002X", "birth_date"),  # month 13
        ("11010519490230002X", "birth_date"),  # 30 February
        ("1101051949123100", "format"),  # 16 digits
        ("11010519491231002X1", "format"),
        ("11010519491231 02X", "format"),
        (" 11010519491231002X", "format"),
        ("1101051949123100２X", "format"),  # full-width digit
        ("A1010519491231002X", "format"),
        ("", "format"),
    ],
)
def test_invalid_numbers_say_why(number, reason):
    with pytest.raises(IdNumberError) as exc:
        validate_id_number(number)
    assert exc.value.reason == reason


def test_lowercase_x_message_asks_for_upper_case():
    with pytest.raises(IdNumberError, match="大写"):
        validate_id_number("11010519491231002x")


def test_future_birth_date_is_refused():
    first17 = "50023120990101001"
    with pytest.raises(IdNumberError) as exc:
        validate_id_number(first17 + check_char(first17))
    assert exc.value.reason == "birth_date"


@pytest.mark.parametrize("phone", ["13800138000", "19912345678", "15023456789"])
def test_mobile_numbers(phone):
    assert validate_phone(phone) == phone


@pytest.mark.parametrize(
    "phone", ["12800138000", "1380013800", "138001380001", "+8613800138000", "1380013800a"]
)
def test_bad_mobile_numbers(phone):
    with pytest.raises(ValueError, match="11 位"):
        validate_phone(phone)


def test_initial_password_rule_and_mask():
    assert initial_password("11010519491231002X") == "edu@31002X"
    assert mask_id_number("11010519491231002X") == "110105********002X"
