import pytest
from django.core.exceptions import ValidationError

from relief.areacodes import ancestor_codes, level_of, normalize_area_code, prefix_of


@pytest.mark.parametrize(
    "code, level, prefix",
    [
        ("130000000000", "province", "13"),
        ("130100000000", "city", "1301"),
        ("130123000000", "county", "130123"),
        ("130123100000", "township", "130123100"),
        ("130123100201", "village", "130123100201"),
        ("441900003000", "township", "441900003"),  # 东莞: towns directly under the city
    ],
)
def test_it_reads_the_level_and_subtree_prefix_off_the_code(code, level, prefix):
    assert level_of(code) == level
    assert prefix_of(code) == prefix


@pytest.mark.parametrize(
    "code, error",
    [
        ("13012310020", "area_code_format"),
        ("13012310020a", "area_code_format"),
        ("000000000001", "area_code_province"),
        ("130123000201", "area_code_township"),
    ],
)
def test_it_refuses_malformed_codes(code, error):
    with pytest.raises(ValidationError) as caught:
        level_of(code)
    assert caught.value.code == error


def test_it_explains_a_malformed_code_in_chinese():
    with pytest.raises(ValidationError, match="区划代码应为12位数字"):
        level_of("1301231002")


def test_it_lists_ancestors_nearest_first_skipping_missing_levels():
    assert ancestor_codes("130123100201") == [
        "130123100000",
        "130123000000",
        "130100000000",
        "130000000000",
    ]
    # 东莞 has no county level: a town's nearest ancestor is the city.
    assert ancestor_codes("441900003000") == ["441900000000", "440000000000"]


def test_it_normalizes_what_spreadsheets_and_people_do_to_codes():
    assert normalize_area_code(130123100201.0) == "130123100201"
    assert normalize_area_code(" １３０１２３１００２０１ ") == "130123100201"
    assert normalize_area_code("130123 100201") == "130123100201"
