"""Text clean-up for values typed by people or exported from Chinese Excel."""

from __future__ import annotations

import unicodedata

# Characters people use as the middle dot in transliterated names (买买提·艾力).
MIDDLE_DOTS = "·・•‧∙⋅･．.｡"  # noqa: RUF001 - deliberate look-alikes
CANONICAL_MIDDLE_DOT = "·"  # U+00B7, as used by the Ministry of Public Security

_FULLWIDTH_OFFSET = 0xFEE0


_HALFWIDTH = {0x3000: " "} | {code: chr(code - _FULLWIDTH_OFFSET) for code in range(0xFF01, 0xFF5F)}


def to_halfwidth(value: str) -> str:
    """Map full-width ASCII (``０-９``, ``Ａ-Ｚ``, ``．``) and the ideographic space to ASCII.

    Chinese characters are left as they are.
    """
    return value.translate(_HALFWIDTH)


def clean(value: object) -> str:
    """Return ``value`` as a stripped string: full-width spaces and control characters removed.

    ``None`` becomes ``""``. Inner single spaces are kept (course titles may contain them).
    """
    if value is None:
        return ""
    text = str(value).replace("\u3000", " ").replace("\xa0", " ").replace("\ufeff", "")
    if not text.isprintable():  # printable text has no control characters: skip the slow scan
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc" or ch in "\t\n")
    return " ".join(text.split()) if "\n" not in text else text.strip()


def clean_name(value: object) -> str:
    """Normalise a person's name: strip all spaces and unify middle dots to U+00B7.

    Names with characters outside GB 2312 (堃, 喆, 𠮷) are kept exactly.
    """
    text = "".join(clean(value).split())
    if len(text) > 1:
        text = text[0] + "".join(CANONICAL_MIDDLE_DOT if ch in MIDDLE_DOTS else ch for ch in text[1:-1]) + text[-1]
    return text


def digits_text(value: object) -> str:
    """Return an identifier typed as text or stored by Excel as a number, as plain ASCII text.

    ``13812345678.0`` (a float cell) becomes ``"13812345678"``; full-width digits become ASCII;
    spaces and hyphens are removed; the letter x is upper-cased.
    """
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = to_halfwidth(clean(value))
    text = text.replace(" ", "").replace("-", "")
    return text.upper()
