"""Chinese resident identity numbers and mobile numbers.

Rules: GB 11643-1999 (公民身份号码) – 6-digit address code, 8-digit birth date (YYYYMMDD),
3-digit sequence whose last digit is odd for men and even for women, and a check character
computed with ISO 7064 MOD 11-2: weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 over the first
17 digits, the sum mod 11 indexes ``"10X98765432"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from academy.common.text import digits_text

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_ID_RE = re.compile(r"^\d{17}[\dX]$")


class InvalidIdNumber(ValueError):
    """The text is not a valid 18-character resident ID number; ``str()`` says why (Chinese)."""


class InvalidMobile(ValueError):
    """The text is not a mainland mobile number (``^1[3-9]\\d{9}$``)."""


@dataclass(frozen=True)
class IdNumber:
    """A validated resident ID number with the facts it encodes."""

    value: str  # 18 characters, upper-case X
    birth_date: date
    gender: str  # "男" or "女"
    region_code: str  # first 6 digits


def check_character(first17: str) -> str:
    """Return the GB 11643-1999 check character for 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def parse_id_number(raw: object, *, today: date | None = None) -> IdNumber:
    """Validate and normalise a resident ID number.

    Accepts numbers stored by Excel as numbers, full-width digits, spaces and a lower-case x.
    Raises ``InvalidIdNumber`` with a Chinese reason: wrong length, bad characters, an
    impossible or future birth date, or a wrong check character.
    """
    text = digits_text(raw)
    if len(text) != 18:
        raise InvalidIdNumber(f"身份证号应为18位，现在是{len(text)}位")
    if not _ID_RE.match(text):
        raise InvalidIdNumber("身份证号只能由数字和末位X组成")
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise InvalidIdNumber("身份证号中的出生日期不存在") from None
    today = today or date.today()
    if born > today or born.year < 1900:
        raise InvalidIdNumber("身份证号中的出生日期不合理")
    expected = check_character(text[:17])
    if text[17] != expected:
        raise InvalidIdNumber("身份证号校验位不正确，请核对是否输错")
    gender = "男" if int(text[16]) % 2 == 1 else "女"
    return IdNumber(value=text, birth_date=born, gender=gender, region_code=text[:6])


def normalise_mobile(raw: object) -> str:
    """Return an 11-digit mobile number or raise ``InvalidMobile``.

    Strips spaces, hyphens, a leading ``+86``/``86`` and full-width digits; accepts numbers
    stored by Excel as numbers.
    """
    text = digits_text(raw).replace("+", "")
    if len(text) == 13 and text.startswith("86"):
        text = text[2:]
    if not MOBILE_RE.match(text):
        raise InvalidMobile("手机号应为1开头的11位数字")
    return text


def age_on(birth_date: date, day: date) -> int:
    """Return the age in whole years on ``day``."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
