"""Resident ID numbers (GB 11643-1999) and mobile numbers."""

from __future__ import annotations

from datetime import date

import pytest

from academy.common.ids import (
    InvalidIdNumber,
    InvalidMobile,
    age_on,
    check_character,
    normalise_mobile,
    parse_id_number,
)

TODAY = date(2026, 11, 30)


def _with_check(first17: str) -> str:
    return first17 + check_character(first17)


@pytest.mark.parametrize(("first17", "expected"), [
    ("11010519491231002", "X"),  # the example number of the standard
    ("44052418800101001", "4"),
    ("36072219780919711", "X"),
    ("36073019720719854", "5"),
])
def test_check_character_follows_iso_7064_mod_11_2(first17, expected):
    assert check_character(first17) == expected


def test_check_character_needs_exactly_17_digits():
    with pytest.raises(ValueError):
        check_character("1234")


def test_a_valid_number_gives_birth_date_gender_and_region():
    parsed = parse_id_number("360730197207198545", today=TODAY)
    assert parsed.value == "360730197207198545"
    assert parsed.birth_date == date(1972, 7, 19)
    assert parsed.gender == "女"  # 17th digit 4 is even
    assert parsed.region_code == "360730"


def test_an_odd_seventeenth_digit_means_male():
    assert parse_id_number("36072219780919711X", today=TODAY).gender == "男"


def test_a_lower_case_x_is_accepted_and_stored_upper_case():
    parsed = parse_id_number("36072219780919711x", today=TODAY)
    assert parsed.value == "36072219780919711X"


def test_spaces_full_width_digits_and_full_width_x_are_normalised():
    full_width = "３６０７２２１９７８０９１９７１１ｘ"
    assert parse_id_number(full_width, today=TODAY).value == "36072219780919711X"
    assert parse_id_number(" 360722 19780919 711X\u3000", today=TODAY).value == "36072219780919711X"


def test_a_number_stored_as_an_integer_cell_is_accepted():
    assert parse_id_number(360730197207198545, today=TODAY).value == "360730197207198545"


def test_a_number_stored_as_a_float_cell_is_refused_with_a_clear_reason():
    with pytest.raises(InvalidIdNumber, match="存成了数字"):
        parse_id_number(360730197207198545.0, today=TODAY)


def test_a_wrong_check_digit_is_refused():
    with pytest.raises(InvalidIdNumber, match="校验位"):
        parse_id_number("360730197207198546", today=TODAY)


def test_an_impossible_birth_date_is_refused():
    number = _with_check("36070219900230123")  # 30 February
    with pytest.raises(InvalidIdNumber, match="出生日期不存在"):
        parse_id_number(number, today=TODAY)


def test_a_birth_date_in_the_future_is_refused():
    number = _with_check("36070220270101123")
    with pytest.raises(InvalidIdNumber, match="出生日期不合理"):
        parse_id_number(number, today=TODAY)


def test_a_birth_date_on_today_is_accepted():
    number = _with_check("36070220261130123")
    assert parse_id_number(number, today=TODAY).birth_date == TODAY


def test_an_old_fifteen_digit_number_gets_its_own_hint():
    with pytest.raises(InvalidIdNumber, match="15位"):
        parse_id_number("360730720719854", today=TODAY)


def test_seventeen_digits_say_the_length():
    with pytest.raises(InvalidIdNumber, match="现在是17位"):
        parse_id_number("36073019720719854", today=TODAY)


def test_letters_other_than_a_final_x_are_refused():
    with pytest.raises(InvalidIdNumber, match="只能由数字和末位X组成"):
        parse_id_number("3607301972071985A4", today=TODAY)


def test_an_empty_value_asks_for_the_number():
    with pytest.raises(InvalidIdNumber, match="请填写"):
        parse_id_number("  ", today=TODAY)


@pytest.mark.parametrize("raw", ["13812341234", "138 1234 1234", "138-1234-1234", "+86 13812341234",
                                 "8613812341234", "１３８１２３４１２３４", 13812341234, 13812341234.0])
def test_mobile_numbers_are_normalised_to_eleven_digits(raw):
    assert normalise_mobile(raw) == "13812341234"


@pytest.mark.parametrize("raw", ["12812341234", "1381234123", "138123412345", "23812341234", "abc", "", None])
def test_mobile_numbers_outside_the_pattern_are_refused(raw):
    with pytest.raises(InvalidMobile):
        normalise_mobile(raw)


def test_age_counts_whole_years_and_a_birthday_today():
    assert age_on(date(1990, 12, 1), date(2026, 11, 30)) == 35
    assert age_on(date(1990, 11, 30), date(2026, 11, 30)) == 36
