"""Secrets never reach a log line: values are replaced by key, wherever they sit in the event."""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

REDACTED = "[redacted]"
# A key is secret when one of its words (split at `_`, `-`, `.`, spaces and camelCase) is one
# of these: `password_hash`, `csrf_token`, `Set-Cookie`, `accessToken`, `api_key`. Whole words,
# so `prompt_tokens` or `hashed_count` stay readable.
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "cookie",
        "authorization",
        "csrf",
        "hash",
        "session",
        "apikey",
        "credential",
        "credentials",
        "dsn",
    }
)
_SECRET_PAIRS = frozenset({"apikey", "privatekey", "secretkey", "signingkey"})
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def is_secret_key(key: object) -> bool:
    if not isinstance(key, str):
        return False
    words = [word.lower() for word in _WORD.findall(key)]
    pairs = {a + b for a, b in pairwise(words)}  # `api_key`, `privateKey`
    return any(w in SECRET_WORDS for w in words) or bool(pairs & _SECRET_PAIRS)


def redact(value: Any, *, _depth: int = 0) -> Any:
    """`value` with every secret-keyed entry of nested mappings and sequences replaced."""
    if _depth > 8:
        return value
    if isinstance(value, Mapping):
        return {
            k: REDACTED if is_secret_key(k) else redact(v, _depth=_depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, _depth=_depth + 1) for v in value]
    return value


def redact_secrets(logger: Any, method_name: str, event_dict: Any) -> Any:
    """structlog processor: `redact` on the whole event."""
    return redact(event_dict)
