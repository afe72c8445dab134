"""Rotating check-in tokens: the QR token and the 6-digit code shown on the projector.

Time is cut into intervals of ``rotation_seconds`` (default 30) counted from the Unix epoch, so
the interval of an instant is the same on every server whatever its local time zone.
For session ``s`` and interval ``i`` the server computes

* QR token: ``"<i>.<mac>"`` where ``mac`` is HMAC-SHA256(key, "qr|s|i") truncated to 96 bits
  and written in URL-safe base64 (16 characters);
* numeric code: HMAC-SHA256(key, "code|s|i") read as an integer, modulo 10⁶, six digits.

``key`` is derived from the application's ``SECRET_KEY`` for this purpose only, so a token
cannot be computed from the session id (or the public code) without the secret, and a token of
one session is worthless on another. The interval shown and the one before it are accepted
(a learner who scanned just before the rotation is not refused); older ones are expired and
newer ones (which the projector never showed) are invalid. Comparisons use
``hmac.compare_digest``. Source of the design: Moodle mod_attendance's rotating QR and its
known failures (research/lms-anchors.md §2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flask import current_app

MAC_BYTES = 12  # 96 bits, 16 URL-safe base64 characters
CODE_DIGITS = 6
ACCEPTED_PREVIOUS_INTERVALS = 1


class TokenCheck(StrEnum):
    """The verdict on a presented token or code."""

    VALID = "valid"
    EXPIRED = "expired"  # genuine, but from an interval older than the previous one
    INVALID = "invalid"  # malformed, tampered with, for another session, or from the future


@dataclass(frozen=True)
class Verdict:
    """Outcome of a check: ``result`` and the interval the token belonged to (if readable)."""

    result: TokenCheck
    interval: int | None = None

    @property
    def ok(self) -> bool:
        """True for a VALID verdict."""
        return self.result == TokenCheck.VALID


def _key(secret: str | bytes | None = None) -> bytes:
    """The check-in key: HMAC-SHA256 of a fixed label under the app secret."""
    secret = secret if secret is not None else current_app.config["SECRET_KEY"]
    if isinstance(secret, str):
        secret = secret.encode()
    return hmac.new(secret, b"academy.attendance.check-in.v1", hashlib.sha256).digest()


def interval_index(at: datetime, rotation_seconds: int) -> int:
    """Number of the rotation interval containing ``at`` (aware datetime; epoch-based)."""
    if at.tzinfo is None:
        raise ValueError("interval_index needs an aware datetime")
    return int(at.timestamp()) // rotation_seconds


def seconds_left(at: datetime, rotation_seconds: int) -> int:
    """Whole seconds until the interval containing ``at`` ends (1 … rotation_seconds)."""
    return rotation_seconds - int(at.timestamp()) % rotation_seconds


def _mac(kind: str, session_id: int, index: int, secret=None) -> bytes:
    message = f"{kind}|{session_id}|{index}".encode()
    return hmac.new(_key(secret), message, hashlib.sha256).digest()


def qr_token(session_id: int, index: int, *, secret=None) -> str:
    """The QR token of ``session_id`` for interval ``index``: ``"<index>.<16 base64url chars>"``."""
    mac = base64.urlsafe_b64encode(_mac("qr", session_id, index, secret)[:MAC_BYTES]).decode().rstrip("=")
    return f"{index}.{mac}"


def numeric_code(session_id: int, index: int, *, secret=None) -> str:
    """The 6-digit code of ``session_id`` for interval ``index`` (leading zeros kept)."""
    value = int.from_bytes(_mac("code", session_id, index, secret)[:8], "big")
    return f"{value % 10 ** CODE_DIGITS:0{CODE_DIGITS}d}"


def current_token(session_id: int, rotation_seconds: int, *, now: datetime, secret=None) -> str:
    """The QR token to show at ``now``."""
    return qr_token(session_id, interval_index(now, rotation_seconds), secret=secret)


def current_code(session_id: int, rotation_seconds: int, *, now: datetime, secret=None) -> str:
    """The 6-digit code to show at ``now``."""
    return numeric_code(session_id, interval_index(now, rotation_seconds), secret=secret)


def check_token(session_id: int, token: str | None, rotation_seconds: int, *, now: datetime,
                secret=None) -> Verdict:
    """Judge a QR token presented for ``session_id`` at ``now``.

    VALID for the current and the previous interval; EXPIRED for a genuine older token;
    INVALID for anything malformed, forged, belonging to another session or to a later interval.
    """
    if not token or "." not in token or len(token) > 64:
        return Verdict(TokenCheck.INVALID)
    index_text, _, mac = token.partition(".")
    if not index_text.isdigit() or len(index_text) > 12:
        return Verdict(TokenCheck.INVALID)
    index = int(index_text)
    expected = qr_token(session_id, index, secret=secret)
    if not hmac.compare_digest(expected.encode(), token.encode()):
        return Verdict(TokenCheck.INVALID)
    current = interval_index(now, rotation_seconds)
    if index > current:
        return Verdict(TokenCheck.INVALID, index)
    if index < current - ACCEPTED_PREVIOUS_INTERVALS:
        return Verdict(TokenCheck.EXPIRED, index)
    return Verdict(TokenCheck.VALID, index)


def check_code(session_id: int, code: str | None, rotation_seconds: int, *, now: datetime,
               secret=None) -> Verdict:
    """Judge a typed 6-digit code for ``session_id`` at ``now`` (current or previous interval).

    A code carries no interval, so an old code is simply INVALID (it matches nothing accepted).
    """
    code = (code or "").strip()
    if len(code) != CODE_DIGITS or not code.isdigit():
        return Verdict(TokenCheck.INVALID)
    current = interval_index(now, rotation_seconds)
    matched = None
    for index in range(current - ACCEPTED_PREVIOUS_INTERVALS, current + 1):
        if hmac.compare_digest(numeric_code(session_id, index, secret=secret).encode(), code.encode()):
            matched = index
    return Verdict(TokenCheck.VALID, matched) if matched is not None else Verdict(TokenCheck.INVALID)

