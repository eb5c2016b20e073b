"""Amounts as money documents print them: in figures ("2,700.00") and in
capital numerals (大写, "贰仟柒佰元整").

The capitals follow the rules of the 支付结算办法 (正确填写票据和结算凭证的基本
规定): 整 after 元 when there is no 角 or 分, one 零 for a run of zeros in the
middle, 零 after 元 when 角 is zero and 分 is not. cn2an writes them; the
amount is rounded to the fen (分) first, because cn2an drops further digits
instead of rounding them.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import cn2an

FEN = Decimal("0.01")
# cn2an reads at most 16 integer digits; far more than any relief amount
# (Application.amount has 12), but the limit is cn2an's, so it is said here.
LIMIT = Decimal(10) ** 16


def to_fen(amount: Decimal | int) -> Decimal:
    """The amount rounded half-up (四舍五入) to the fen; ValueError for a
    negative, infinite or NaN amount, or one cn2an cannot write."""
    if isinstance(amount, float):
        # A float has already lost the fen it claims to hold.
        raise TypeError("money is Decimal, not float")
    value = Decimal(amount)
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {amount}")
    if value < 0:
        raise ValueError(f"a negative amount has no capitals: {amount}")
    rounded = value.quantize(FEN, rounding=ROUND_HALF_UP)
    if rounded >= LIMIT:
        raise ValueError(f"too large for capitals: {amount}")
    return rounded + 0  # -0.00 becomes 0.00


def in_capitals(amount: Decimal | int) -> str:
    """大写金额: Decimal("2700") → "贰仟柒佰元整", Decimal("10010.05") →
    "壹万零壹拾元零伍分", 0 → "零元整"."""
    return cn2an.an2cn(str(to_fen(amount)), "rmb")


def yuan(amount: Decimal | int) -> str:
    """An amount in figures with the fen always shown, so that columns of
    money line up: Decimal("2700") → "2,700.00".

    The screens' `yuan` filter (campaigns.conditions.fmt) drops ".00" from
    whole amounts; documents for finance print every amount to the fen."""
    if isinstance(amount, float):
        raise TypeError("money is Decimal, not float")
    value = Decimal(amount).quantize(FEN, rounding=ROUND_HALF_UP)
    return f"{value + 0:,.2f}"
