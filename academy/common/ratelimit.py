"""Fixed-window rate limiting (login attempts, certificate verification).

The store is Redis when ``REDIS_URL`` is configured (shared by every worker process) and an
in-process dictionary otherwise (the embedded single-process default).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from flask import current_app


@dataclass(frozen=True)
class Limit:
    """At most ``count`` hits per ``seconds`` for one key."""

    count: int
    seconds: int


class MemoryStore:
    """Thread-safe in-process counters; windows expire lazily."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, tuple[int, float]] = {}

    def hit(self, key: str, seconds: int, now: float) -> int:
        with self._lock:
            count, expires = self._hits.get(key, (0, 0.0))
            if expires <= now:
                count, expires = 0, now + seconds
            count += 1
            self._hits[key] = (count, expires)
            if len(self._hits) > 100_000:  # bound memory: drop expired windows
                self._hits = {k: v for k, v in self._hits.items() if v[1] > now}
            return count

    def peek(self, key: str, now: float) -> int:
        with self._lock:
            count, expires = self._hits.get(key, (0, 0.0))
            return count if expires > now else 0

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)


class RedisStore:
    """Counters in Redis: INCR + EXPIRE in one pipeline per hit."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)

    def hit(self, key: str, seconds: int, now: float) -> int:
        pipe = self._redis.pipeline()
        pipe.incr(f"rl:{key}")
        pipe.expire(f"rl:{key}", seconds, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def peek(self, key: str, now: float) -> int:
        value = self._redis.get(f"rl:{key}")
        return int(value) if value else 0

    def reset(self, key: str) -> None:
        self._redis.delete(f"rl:{key}")


def _store():
    ext = current_app.extensions
    if "academy_ratelimit" not in ext:
        url = current_app.config.get("REDIS_URL")
        ext["academy_ratelimit"] = RedisStore(url) if url else MemoryStore()
    return ext["academy_ratelimit"]


def hit(key: str, limit: Limit) -> bool:
    """Count one hit for ``key``; return True while within ``limit``, False once exceeded."""
    return _store().hit(key, limit.seconds, time.time()) <= limit.count


def exceeded(key: str, limit: Limit) -> bool:
    """True when ``key`` has already used up ``limit`` in the current window (does not count)."""
    return _store().peek(key, time.time()) >= limit.count


def reset(key: str) -> None:
    """Forget the counter of ``key`` (e.g. after a successful login)."""
    _store().reset(key)
