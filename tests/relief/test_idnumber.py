"""Resident ID numbers: GB 11643 check digit, birth date, sex, masking."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from relief import idnumber

# The example number of GB 11643-1999 itself.
STANDARD_EXAMPLE = "11010519491231002X"


def test_it_accepts_the_standards_example_and_reads_birth_date_and_sex():
    assert idnumber.validate(STANDARD_EXAMPLE) == STANDARD_EXAMPLE
    assert idnumber.birth_date(STANDARD_EXAMPLE) == datetime.date(1949, 12, 31)
    assert idnumber.sex(STANDARD_EXAMPLE) == "F"  # sequence 002: even


def test_it_tolerates_spaces_full_width_digits_and_a_lower_case_x():
    assert idnumber.validate(" １１０１０５ 19491231002x ") == STANDARD_EXAMPLE


@pytest.mark.parametrize(
    "raw, code",
    [
        ("110105194912310021", "id_checksum"),
        ("11010519491231002", "id_length"),
        ("110105491231002", "id_old_format"),
        ("1101051949123100AX", "id_characters"),
        ("99010519491231002X", "id_province"),
        ("110105194902300028", "id_birth_date"),  # 30 February
        ("110105209901010028", "id_birth_date"),  # born in the future
    ],
)
def test_it_refuses_a_malformed_number_with_a_reason(raw, code):
    with pytest.raises(ValidationError) as caught:
        idnumber.validate(raw)
    assert caught.value.code == code


def test_it_says_what_is_wrong_in_chinese():
    with pytest.raises(ValidationError) as caught:
        idnumber.validate("110105194912310021")
    assert "校验位" in caught.value.messages[0]


def test_it_masks_all_but_the_first_six_and_last_four():
    assert idnumber.mask(STANDARD_EXAMPLE) == "110105********002X"
    assert idnumber.mask("123") == "***"


dates = st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2020, 12, 31))
places = st.sampled_from(["110105", "130123", "441900", "650102", "810000"])


@given(place=places, born=dates, sequence=st.integers(0, 999))
def test_property_every_made_number_validates_and_round_trips(place, born, sequence):
    number = idnumber.make(place, born, sequence)
    assert idnumber.validate(number) == number
    assert idnumber.birth_date(number) == born
    assert idnumber.sex(number) == ("M" if sequence % 2 else "F")


@given(
    place=places,
    born=dates,
    sequence=st.integers(0, 999),
    position=st.integers(0, 17),
    replacement=st.sampled_from("0123456789X"),
)
def test_property_any_single_mistyped_character_is_caught(
    place, born, sequence, position, replacement
):
    number = idnumber.make(place, born, sequence)
    if number[position] == replacement:
        return  # not a change
    mistyped = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(ValidationError):
        idnumber.validate(mistyped)


@given(place=places, born=dates, sequence=st.integers(0, 999), position=st.integers(0, 16))
def test_property_swapping_two_neighbouring_digits_is_caught(place, born, sequence, position):
    number = idnumber.make(place, born, sequence)
    a, b = number[position], number[position + 1]
    if a == b or not b.isdigit():
        return
    swapped = number[:position] + b + a + number[position + 2 :]
    with pytest.raises(ValidationError):
        idnumber.validate(swapped)
