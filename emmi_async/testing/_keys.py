"""Fake API keys in EMMI's three formats, made deterministically from a seed.

Account keys are ``emmi_sk_`` and 64 alphanumerics; single- and multi-tenant keys are
``sk_test_{single,multi}_{14 alphanumerics}_{4 hex checksum}``. The checksum is the first
four hex digits of the SHA-256 of the random part; the server never checks it (the
documented rule), it only looks keys up.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
from typing import Literal

__all__ = ["KeyModel", "key_model", "make_key"]

KeyModel = Literal["account", "single", "multi"]

_ALPHANUMERICS = string.ascii_letters + string.digits
_ACCOUNT = re.compile(r"emmi_sk_[A-Za-z0-9]{64}")
_TENANT = re.compile(r"sk_(?:live|test)_(single|multi)_[A-Za-z0-9]+_[A-Za-z0-9]+")


def make_key(model: KeyModel, rng: random.Random) -> str:
    """A new key of ``model``'s format, drawn from ``rng``."""
    if model == "account":
        return "emmi_sk_" + "".join(rng.choices(_ALPHANUMERICS, k=64))
    body = "".join(rng.choices(_ALPHANUMERICS, k=14))
    checksum = hashlib.sha256(body.encode()).hexdigest()[:4]
    return f"sk_test_{model}_{body}_{checksum}"


def key_model(key: str) -> KeyModel | None:
    """The auth model ``key``'s format belongs to, or ``None`` for no known format."""
    if _ACCOUNT.fullmatch(key):
        return "account"
    match = _TENANT.fullmatch(key)
    if match is None:
        return None
    return "single" if match.group(1) == "single" else "multi"
