"""The draw of contestant numbers (抽签): random, yet reproducible from a recorded seed.

Each registration key (the entry id) gets the digest ``SHA-256("<seed>:<key>")``; ordering the
keys by digest and numbering them 1, 2, 3 … gives the drawn numbers. The same seed and the same
set of entries always give the same numbers, on any machine and any Python version, so anyone
holding the seed (kept on the event and in the audit log) can re-run the draw and check it:

    sorted(ids, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

SEED_BYTES = 8


def new_seed() -> str:
    """A fresh random seed: 16 hexadecimal characters from the operating system's CSPRNG."""
    return secrets.token_hex(SEED_BYTES)


def draw_numbers(seed: str, keys: Iterable[int]) -> dict[int, int]:
    """Map each key to its drawn number (1 … n) for ``seed``.

    Raises ``ValueError`` for an empty seed.
    """
    if not seed:
        raise ValueError("the draw needs a seed")
    ordered = sorted(set(keys), key=lambda k: (hashlib.sha256(f"{seed}:{k}".encode()).hexdigest(), k))
    return {key: number for number, key in enumerate(ordered, start=1)}
