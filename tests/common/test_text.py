"""Clean-up of text typed by people or exported from Chinese Excel."""

from __future__ import annotations

from academy.common.text import clean, clean_name, digits_text, to_halfwidth


def test_full_width_ascii_and_the_ideographic_space_become_ascii():
    assert to_halfwidth("ＡＢＣ１２３\u3000ｘ") == "ABC123 x"
    assert to_halfwidth("电工") == "电工"


def test_clean_strips_spaces_controls_and_bom():
    assert clean("\ufeff  电工\u3000技能\xa0培训 \x07") == "电工 技能 培训"
    assert clean(None) == ""
    assert clean(120) == "120"


def test_names_lose_inner_spaces_and_unify_middle_dots():
    assert clean_name(" 郭军鹏 ") == "郭军鹏"
    assert clean_name("王 小 磊") == "王小磊"
    for dot in "·・•‧∙⋅･．.":  # noqa: RUF001 - deliberate look-alikes
        assert clean_name(f"买买提{dot}艾力") == "买买提·艾力"


def test_names_with_rare_characters_are_kept_exactly():
    assert clean_name("李堃") == "李堃"
    assert clean_name("王𠮷喆") == "王𠮷喆"


def test_identifiers_from_number_cells_and_full_width_text_become_plain_text():
    assert digits_text(13812345678.0) == "13812345678"
    assert digits_text(13812345678) == "13812345678"
    assert digits_text("１３８-1234 5678") == "13812345678"
    assert digits_text("36072219780919711x") == "36072219780919711X"
    assert digits_text(None) == ""
