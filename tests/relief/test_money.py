"""Amounts in capitals (大写) and in figures, as the payment sheet prints them.

The expected capitals follow the 支付结算办法 (正确填写票据和结算凭证的基本规定);
the cases marked with a rule number are its own examples."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from relief.money import in_capitals, to_fen, yuan

KNOWN = [
    ("0", "零元整"),
    ("0.00", "零元整"),
    ("0.07", "柒分"),
    ("0.5", "伍角"),
    ("1", "壹元整"),
    ("10", "壹拾元整"),  # 壹拾, never a bare 拾
    ("10.10", "壹拾元壹角"),  # nothing after 角
    ("10.01", "壹拾元零壹分"),
    ("100", "壹佰元整"),
    ("101", "壹佰零壹元整"),
    ("1001", "壹仟零壹元整"),
    ("1010", "壹仟零壹拾元整"),
    ("2700", "贰仟柒佰元整"),
    ("10000", "壹万元整"),
    ("10010.05", "壹万零壹拾元零伍分"),
    ("100100", "壹拾万零壹佰元整"),
    ("2776000", "贰佰柒拾柒万陆仟元整"),
    ("1002003.4", "壹佰万贰仟零叁元肆角"),
    ("100000000", "壹亿元整"),
    ("100010000", "壹亿零壹万元整"),
    ("1409.50", "壹仟肆佰零玖元伍角"),  # rule 3(1)
    ("6007.14", "陆仟零柒元壹角肆分"),  # rule 3(2): one 零 for a run of zeros
    ("1680.32", "壹仟陆佰捌拾元叁角贰分"),  # rule 3(3): 元位 0, the form without 零
    ("107000.53", "壹拾万柒仟元伍角叁分"),  # rule 3(3)
    ("16409.02", "壹万陆仟肆佰零玖元零贰分"),  # rule 3(4): 角位 0, 分 not
    ("325.04", "叁佰贰拾伍元零肆分"),  # rule 3(4)
    ("999999999.99", "玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    # Rounded half-up to the fen first (cn2an alone would cut 12.345 to 12.34).
    ("12.345", "壹拾贰元叁角伍分"),
    ("0.004", "零元整"),
    ("0.005", "壹分"),
    ("-0", "零元整"),
]


@pytest.mark.parametrize(("amount", "expected"), KNOWN)
def test_it_writes_known_amounts_in_capitals(amount, expected):
    assert in_capitals(Decimal(amount)) == expected
    # The property below trusts this parser: it reads every known case right.
    assert parse(expected) == to_fen(Decimal(amount))


def test_it_takes_whole_yuan_as_int():
    assert in_capitals(500) == "伍佰元整"


@pytest.mark.parametrize("amount", ["-0.01", "-500", "NaN", "Infinity", "-Infinity", "1e16"])
def test_it_refuses_amounts_that_have_no_capitals(amount):
    with pytest.raises(ValueError):
        in_capitals(Decimal(amount))


def test_it_refuses_a_float():
    with pytest.raises(TypeError):
        in_capitals(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0", "0.00"),
        ("2700", "2,700.00"),
        ("9880.5", "9,880.50"),
        ("1002003.4", "1,002,003.40"),
        ("12.345", "12.35"),
        ("-0", "0.00"),
        ("-35.5", "-35.50"),
    ],
)
def test_it_writes_amounts_in_figures_to_the_fen(amount, expected):
    assert yuan(Decimal(amount)) == expected


# -- the property: the capitals say exactly the amount -----------------------------

DIGITS = dict(zip("零壹贰叁肆伍陆柒捌玖", range(10), strict=True))
UNITS = {"拾": 10, "佰": 100, "仟": 1000}


def _whole(text: str) -> int:
    """壹亿零贰佰万零叁 → 102000003: an independent reading of the integer part."""
    total = section = digit = 0
    for char in text:
        if char in DIGITS:
            digit = DIGITS[char]
        elif char in UNITS:
            assert digit, f"{UNITS[char]} without its digit in {text}"
            section += digit * UNITS[char]
            digit = 0
        elif char == "万":
            total += (section + digit) * 10**4
            section = digit = 0
        elif char == "亿":
            total = (total + section + digit) * 10**8
            section = digit = 0
        else:
            raise AssertionError(f"unexpected {char!r} in {text}")
    return total + section + digit


def parse(capitals: str) -> Decimal:
    """贰仟柒佰元零伍分 → Decimal("2700.05")."""
    whole_text, _sep, rest = capitals.rpartition("元") if "元" in capitals else ("", "", capitals)
    fen = 0
    if rest != "整":
        if rest.startswith("零"):
            rest = rest[1:]
        for unit, worth in (("角", 10), ("分", 1)):
            if unit in rest:
                number, rest = rest.split(unit, 1)
                fen += DIGITS[number] * worth
        assert rest == "", capitals
    return Decimal(_whole(whole_text) * 100 + fen).scaleb(-2)


amounts = st.integers(min_value=0, max_value=10**11).map(lambda fen: Decimal(fen).scaleb(-2))


@given(amounts)
@example(Decimal("0.00"))
@example(Decimal("100000000.01"))
@example(Decimal("1000000000.00"))
@example(Decimal("10000.10"))
def test_it_writes_capitals_that_read_back_to_the_amount(amount):
    capitals = in_capitals(amount)
    assert parse(capitals) == amount, capitals
    fen = int(amount * 100) % 100
    # 整 after 元 only, when there is neither 角 nor 分; never after 分.
    assert capitals.endswith("整") == (fen == 0)
    # One 零 for a run of zeros, never at the end of the figure.
    assert "零零" not in capitals
    assert not capitals.rstrip("整").endswith("零")
    # 角 zero and 分 not: 零 after 元.
    if amount >= 1 and fen and fen < 10:
        assert f"元零{capitals[-2]}分" in capitals
