"""Masking of personal data (PIPL display limitation) as the brief shows it."""

from __future__ import annotations

import pytest

from academy.common.masking import mask_id_number, mask_name, mask_phone


@pytest.mark.parametrize(("name", "masked"), [
    ("王磊", "王*"),
    ("王小磊", "王*磊"),
    ("欧阳小明", "欧**明"),
    ("买买提·艾力", "买**力"),
    ("吉𠮷祥", "吉*祥"),  # a character outside the BMP counts as one
    ("堃", "堃*"),
    ("", ""),
    (None, ""),
])
def test_names_are_masked_as_the_brief_shows(name, masked):
    assert mask_name(name) == masked


def test_a_long_name_mask_does_not_reveal_its_length():
    assert len(mask_name("欧阳小明")) == len(mask_name("阿卜杜热合曼·买买提")) == 4


def test_phones_keep_the_first_three_and_last_four_digits():
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("") == ""
    assert mask_phone(None) == ""
    assert mask_phone("12345") == "*****"


def test_id_numbers_hide_the_birth_date():
    assert mask_id_number("36070219900101123X") == "360702********123X"
    assert mask_id_number("360702199001011234") == "360702********1234"
    assert mask_id_number(None) == ""
    assert mask_id_number("123") == "***"
