"""Opaque bearer tokens: random to the client, only their SHA-256 is stored (auth_tokens)."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_token() -> str:
    """256 random bits, URL-safe: unguessable, so a plain (unsalted) hash suffices to store it."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """SHA-256 hex digest; no salt needed because the token itself is high-entropy random."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
