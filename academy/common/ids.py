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
from academy.common.timeutil import local_today

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_SCIENTIFIC_RE = re.compile(r"^\d(\.\d+)?E\+?\d+$")
NUMBER_CELL_MESSAGE = "身份证号被表格存成了数字，后几位已经丢失，请把这一列设为“文本”后重新填写"


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
    """Return the GB 11643-1999 check character (``0-9`` or ``X``) for a string of 17 digits.

    ISO 7064 MOD 11-2: weights ``WEIGHTS``, the sum mod 11 indexes ``"10X98765432"``.
    Raises ``ValueError`` unless ``first17`` has exactly 17 digits.
    """
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def parse_id_number(raw: object, *, today: date | None = None) -> IdNumber:
    """Validate and normalise a resident ID number.

    ``raw`` may be text (full-width digits, spaces, hyphens and a lower-case x are accepted;
    the stored value has an upper-case X) or an ``int`` read from a spreadsheet cell. A
    ``float`` of 16 or more digits is refused: a binary float keeps only about 15 significant
    digits, so Excel has already lost the last digits of such a number. ``today`` (a local
    date, default: today in Asia/Shanghai) bounds the birth date.

    Text in scientific notation (``3.60722E+17``, what a CSV holds when the sheet showed the
    number that way) is refused the same way.

    Raises ``InvalidIdNumber`` with a Chinese reason: empty, a number stored as a float, wrong
    length (with a hint for old 15-digit numbers), bad characters, an impossible or future
    birth date, or a wrong check character. Rule: GB 11643-1999.
    """
    if isinstance(raw, float) and (not raw.is_integer() or abs(raw) >= 1e15):
        raise InvalidIdNumber(NUMBER_CELL_MESSAGE)
    text = digits_text(raw)
    if _SCIENTIFIC_RE.match(text):  # a CSV saved from a sheet that showed 3.60722E+17
        raise InvalidIdNumber(NUMBER_CELL_MESSAGE)
    if not text:
        raise InvalidIdNumber("请填写身份证号")
    if len(text) == 15 and text.isdigit():
        raise InvalidIdNumber("这是旧的15位身份证号，请填写18位的号码")
    if len(text) != 18:
        raise InvalidIdNumber(f"身份证号应为18位，现在是{len(text)}位")
    if not _ID_RE.match(text):
        raise InvalidIdNumber("身份证号只能由数字和末位X组成")
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise InvalidIdNumber("身份证号中的出生日期不存在") from None
    today = today or local_today()
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
    stored by Excel as numbers (``13812345678.0``). Rule: ``^1[3-9]\\d{9}$`` (BRIEF §3).
    """
    text = digits_text(raw).replace("+", "")
    if len(text) == 13 and text.startswith("86"):
        text = text[2:]
    if not MOBILE_RE.match(text):
        raise InvalidMobile("手机号应为1开头的11位数字")
    return text


def age_on(birth_date: date, day: date) -> int:
    """Return the age in whole years on ``day`` (a birthday on ``day`` counts)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
