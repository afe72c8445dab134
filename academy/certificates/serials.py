"""Certificate numbers: the academy's readable serials, the 22-character national number of
职业技能等级证书, verification codes, and the race-free sequence that feeds them.

* Academy serial: ``<PREFIX>-<YEAR>-<COURSE>-<SEQ:06d>``, e.g. ``JXG-2026-DG01-000123``; award
  certificates have no course: ``JXJ-2026-000007``. One sequence per prefix, year and course.
* National number (职业技能等级证书编码规则(试行), 人社鉴发〔2019〕2号; research/domain-cn.md §B):
  1 letter + 21 digits = 22 characters — Y|S, 4-digit organisation code, 2-digit province,
  6-digit site, 2-digit year, level digit 1–5, 6-digit serial, e.g. ``Y000136360702265000001``
  (organisation 0001, Jiangxi 36, site 360702, 2026, level 5, serial 000001).
* Verification code: 10 characters from an alphabet without look-alikes (no 0/O, 1/I/L), from
  ``secrets`` — about 49 bits, printed on the paper and carried by the QR code.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update

from academy.common.text import to_halfwidth
from academy.errors import DomainError

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
NATIONAL_RE = re.compile(r"^([YS])(\d{4})(\d{2})(\d{6})(\d{2})([1-5])(\d{6})$")
NATIONAL_QUERY_URL = "http://jndj.osta.org.cn"
ORG_QUERY_URL = "http://pjjg.osta.org.cn"

# Skill levels (人社鉴发〔2021〕1号): digit on the national number → label printed.
LEVEL_LABELS = {
    1: "一级/高级技师",
    2: "二级/技师",
    3: "三级/高级工",
    4: "四级/中级工",
    5: "五级/初级工",
}
_LEVEL_WORDS = {
    1: ("一级", "高级技师"),
    2: ("二级", "技师"),
    3: ("三级", "高级工"),
    4: ("四级", "中级工"),
    5: ("五级", "初级工"),
}


class SerialError(DomainError):
    """A number or code is malformed, or a numbering setting is missing."""


def level_digit(level: str | None) -> int:
    """Return the level digit 1–5 for a level written as on courses (``四级/中级工``, ``初级工``, ``5``).

    Raises ``SerialError`` when the text names no level of the five-level system.
    """
    text = to_halfwidth((level or "").strip())
    if text in {"1", "2", "3", "4", "5"}:
        return int(text)
    # "高级技师" contains "技师" and "高级工" does not, so test the longer words first.
    for digit in (1, 2, 3, 4, 5):
        number_word, title = _LEVEL_WORDS[digit]
        if number_word in text:
            return digit
    for digit in (1, 3, 2, 4, 5):
        if _LEVEL_WORDS[digit][1] in text:
            return digit
    raise SerialError(f"看不出技能等级“{level or ''}”：请写成如“四级/中级工”")


def course_segment(code: str | None) -> str:
    """The course block of a serial: the course code in upper-case letters and digits (≤ 10)."""
    text = re.sub(r"[^0-9A-Z]", "", to_halfwidth(code or "").upper())
    return text[:10] or "GEN"


def format_serial(prefix: str, year: int, seq: int, course_code: str | None = None) -> str:
    """Build an academy serial: ``format_serial("JXG", 2026, 123, "DG01")`` → ``JXG-2026-DG01-000123``."""
    parts = [prefix.upper(), f"{year:04d}"]
    if course_code is not None:
        parts.append(course_segment(course_code))
    parts.append(f"{seq:06d}")
    return "-".join(parts)


def normalise_serial(text: str | None) -> str:
    """Serial as typed by a person (full-width, spaces, lower case) → canonical upper-case form."""
    value = to_halfwidth(text or "").strip().upper()
    value = re.sub(r"\s+", "", value)
    return value.replace("—", "-").replace("－", "-")[:40]


def normalise_code(text: str | None) -> str:
    """Verification code as typed (spaces, hyphens, lower case, full-width) → canonical form."""
    return re.sub(r"[^0-9A-Z]", "", to_halfwidth(text or "").upper())[:CODE_LENGTH]


def new_verification_code() -> str:
    """A fresh unguessable verification code (``secrets``; 10 characters, ~49 bits)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """Group a verification code for reading aloud: ``K7QM3XPA9D`` → ``K7QM-3XPA-9D``."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


@dataclass(frozen=True)
class NationalNumber:
    """The parts of a 22-character 职业技能等级证书 number."""

    value: str
    org_type: str
    org_code: str
    province: str
    site: str
    year: int  # two digits, e.g. 26
    level: int  # 1–5
    serial: int


def parse_national_number(text: str | None) -> NationalNumber:
    """Validate and split a national level-certificate number.

    Accepts spaces and full-width characters (normalised). Raises ``SerialError`` with the
    reason: wrong length, first letter not Y/S, non-digits, level digit outside 1–5.
    """
    value = re.sub(r"\s+", "", to_halfwidth(text or "")).upper()
    if len(value) != 22:
        raise SerialError(f"证书编号应为 22 位（1 个字母 + 21 位数字），现在是 {len(value)} 位")
    if value[0] not in "YS":
        raise SerialError("证书编号第 1 位应为 Y（用人单位）或 S（社会培训评价组织）")
    if not value[1:].isdigit() or not value[1:].isascii():
        raise SerialError("证书编号第 2–22 位应全部为数字")
    match = NATIONAL_RE.match(value)
    if not match:
        raise SerialError("证书编号第 16 位（技能等级）应为 1–5")
    org_type, org, province, site, year, level, serial = match.groups()
    return NationalNumber(value, org_type, org, province, site, int(year), int(level), int(serial))


def build_national_number(org_type: str, org_code: str, province_code: str, site_code: str,
                          year: int, level: int, seq: int) -> str:
    """Compose a national number from the academy's filed codes (see ``CertificateSettings``).

    ``year`` is the four-digit issue year; ``seq`` 1–999999. Raises ``SerialError`` when a
    code has the wrong shape, so a bad setting never produces a made-up number.
    """
    checks = ((org_type, r"[YS]", "机构类型应为 Y 或 S"), (org_code, r"\d{4}", "机构代码应为 4 位数字"),
              (province_code, r"\d{2}", "省份代码应为 2 位数字"), (site_code, r"\d{6}", "机构/站点序号应为 6 位数字"))
    for value, pattern, message in checks:
        if not value or not re.fullmatch(pattern, value):
            raise SerialError(f"评价机构编码设置有误：{message}")
    if level not in LEVEL_LABELS:
        raise SerialError("技能等级应为 1–5")
    if not 1 <= seq <= 999_999:
        raise SerialError("本年度证书序号已用完")
    return f"{org_type}{org_code}{province_code}{site_code}{year % 100:02d}{level}{seq:06d}"


def next_value(session, key: str) -> int:
    """Allocate the next number of sequence ``key`` (1, 2, 3 …) inside the caller's transaction.

    Race-free on SQLite and PostgreSQL: the row is created with ``INSERT … ON CONFLICT DO
    NOTHING`` and incremented with one ``UPDATE … SET last_value = last_value + 1``, which
    holds the row lock until the caller commits; two transactions never get the same value.
    """
    from academy.certificates.models import CertificateSequence

    table = CertificateSequence.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(table).values(key=key, last_value=0).on_conflict_do_nothing(index_elements=["key"]))
    session.execute(update(table).where(table.c.key == key).values(last_value=table.c.last_value + 1))
    return session.scalar(select(table.c.last_value).where(table.c.key == key))
