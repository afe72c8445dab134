"""Masking of personal data on screens and exports (PIPL, 个人信息保护法).

One helper per kind of data, used by templates (as filters), exports and the public
verification page, so that every place masks the same way.
"""

from __future__ import annotations


def mask_name(name: str | None) -> str:
    """Mask a person's name: 王磊 → 王*, 王小磊 → 王*磊, 买买提·艾力 → 买*****力.

    The first and last characters are kept for names of three or more characters.
    """
    if not name:
        return ""
    chars = list(name)
    if len(chars) <= 2:
        return chars[0] + "*"
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]


def mask_phone(phone: str | None) -> str:
    """Mask a mobile number: 13812341234 → 138****1234."""
    if not phone:
        return ""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id_number(value: str | None) -> str:
    """Mask a resident ID number: 360702199001011234 → 360702********1234.

    The region code (6) and the last four characters stay visible.
    """
    if not value:
        return ""
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]
