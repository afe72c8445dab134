"""Masking of personal data on screens and exports (PIPL, 个人信息保护法).

One helper per kind of data, used by templates (as filters), exports and the public
verification page, so that every place masks the same way.
"""

from __future__ import annotations


def mask_name(name: str | None) -> str:
    """Mask a person's name: 王磊 → 王*, 王小磊 → 王*磊, 欧阳小明 → 欧**明, 买买提·艾力 → 买**力.

    Convention (research/domain-cn.md §D3, GB/T 35273 display limitation): two characters →
    surname + ``*``; three → first + ``*`` + last; four or more → first + ``**`` + last, so
    that the mask does not reveal the length of a long name. Characters are code points, so
    names with characters outside the BMP (𠮷) are masked correctly.
    """
    if not name:
        return ""
    chars = list(name.strip())
    if not chars:
        return ""
    if len(chars) <= 2:
        return chars[0] + "*"
    if len(chars) == 3:
        return chars[0] + "*" + chars[-1]
    return chars[0] + "**" + chars[-1]


def mask_phone(phone: str | None) -> str:
    """Mask a mobile number: 13812341234 → 138****1234 (first 3 and last 4 digits visible).

    Values shorter than 8 characters are masked entirely.
    """
    if not phone:
        return ""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id_number(value: str | None) -> str:
    """Mask a resident ID number: 36070219900101123X → 360702********123X.

    The region code (6) and the last four characters stay visible; the eight birth-date
    digits are hidden (research/domain-cn.md §D3). Values shorter than 10 characters are
    masked entirely.
    """
    if not value:
        return ""
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]
