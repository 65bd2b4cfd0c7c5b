"""How 学时 and money read (wxapp/infra/texts.py), and the surfaces that share it."""

from __future__ import annotations

from decimal import Decimal as D

from wxapp.catalogue.plans import hours_text as catalogue_hours_text
from wxapp.certificates.rules import hours_text as certificate_hours_text
from wxapp.infra.texts import hours_number, yuan
from wxapp.notifications.templates import hours_text, number_text, yuan_text
from wxapp.orders.invoice_issuer import yuan as invoice_yuan
from wxapp.progress.standing import hours_text as standing_hours_text


def test_hours_number_drops_trailing_zeros_and_never_writes_an_exponent():
    cases = {"60": "60", "60.0": "60", "12.50": "12.5", "61.5": "61.5", "0": "0", "0.0": "0"}
    cases |= {"100.0": "100", "1E+2": "100", "999.9": "999.9", "0.1": "0.1"}
    assert {text: hours_number(D(text)) for text in cases} == cases
    assert hours_number(30) == "30"


def test_every_surface_writes_hours_the_same_way():
    for hours in (D("60.0"), D("61.5"), D("0"), D("100")):
        text = hours_number(hours)
        assert standing_hours_text(hours) == catalogue_hours_text(hours) == text
        assert certificate_hours_text(hours) == number_text(hours) == text
        assert hours_text(hours) == f"{text}学时"


def test_yuan_writes_fen_with_two_decimals():
    assert [yuan(f) for f in (9000, 5, 123456, 0, 100, -150, -5)] == [
        "90.00", "0.05", "1234.56", "0.00", "1.00", "-1.50", "-0.05",
    ]  # fmt: skip
    assert invoice_yuan is yuan
    assert (yuan_text(9000), yuan_text(-150)) == ("90.00元", "-1.50元")
