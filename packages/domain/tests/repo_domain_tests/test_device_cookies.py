"""Device cookies: bound to one account and one secret, nothing readable inside."""

from __future__ import annotations

import pytest

from repo_domain.device_cookies import DEVICE_TOKEN_MAX_LENGTH, DeviceCookies

SECRET = "a-secret-of-at-least-32-characters!!"


def test_a_cookie_verifies_for_its_account_only() -> None:
    cookies = DeviceCookies(SECRET)
    token = cookies.issue(account="ada@example.com")
    assert len(token) <= DEVICE_TOKEN_MAX_LENGTH
    nonce = cookies.device(token, account="ada@example.com")
    assert nonce and token.startswith(nonce + ".")
    assert cookies.device(token, account="bob@example.com") is None
    assert DeviceCookies("another" + SECRET).device(token, account="ada@example.com") is None
    assert cookies.issue(account="ada@example.com") != token  # a random nonce each time


@pytest.mark.parametrize(
    "token",
    [None, "", "no-dot", ".", "abc.def", "\u00e9" * 10, "x" * (DEVICE_TOKEN_MAX_LENGTH + 1)],
)
def test_anything_else_is_no_device(token: str | None) -> None:
    assert DeviceCookies(SECRET).device(token, account="ada@example.com") is None


def test_a_changed_nonce_or_signature_is_no_device() -> None:
    cookies = DeviceCookies(SECRET)
    nonce, signature = cookies.issue(account="ada@example.com").split(".")
    other_nonce = ("A" if nonce[0] != "A" else "B") + nonce[1:]
    assert cookies.device(f"{other_nonce}.{signature}", account="ada@example.com") is None
    assert cookies.device(f"{nonce}.{signature[::-1]}", account="ada@example.com") is None


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        DeviceCookies("")
