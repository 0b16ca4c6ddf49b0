"""Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies").

A device cookie is handed to a client after it logged in to an account with the right password:
``<nonce>.<signature>``, the signature an HMAC-SHA256 (`itsdangerous`, key derived with HMAC from
the server secret and the normalised email) over a random nonce. It names no account (nothing to
read from a leaked cookie) but verifies for one account only, so a cookie of another account, a
forged or a truncated one is simply "no device cookie": the client is untrusted. The nonce is the
device's identity for its own failure window and the lockout list (`repo_domain.throttle`).
"""

from __future__ import annotations

import hashlib
import secrets

from itsdangerous import BadSignature, Signer

#: Longer values are not ours (a nonce of 22 characters, a '.', a 43-character signature).
DEVICE_TOKEN_MAX_LENGTH = 128
NONCE_BYTES = 16
_SALT_PREFIX = "repo_domain.device-cookie:"


class DeviceCookies:
    """Issues and verifies device cookies bound to an account with one server secret."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a device-cookie secret must not be empty")
        self._secret = secret

    def _signer(self, account: str) -> Signer:
        return Signer(
            self._secret,
            salt=_SALT_PREFIX + account,
            key_derivation="hmac",
            digest_method=hashlib.sha256,
        )

    def issue(self, *, account: str) -> str:
        """A fresh device cookie for the account (its normalised email)."""
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        return self._signer(account).sign(nonce).decode("ascii")

    def device(self, token: str | None, *, account: str) -> str | None:
        """The nonce of a valid device cookie of this account, else None (untrusted)."""
        if not token or len(token) > DEVICE_TOKEN_MAX_LENGTH or not token.isascii():
            return None
        try:
            return self._signer(account).unsign(token).decode("ascii")
        except BadSignature:
            return None


__all__ = ["DEVICE_TOKEN_MAX_LENGTH", "DeviceCookies"]
