"""Email normalisation and the password policy (pure functions, no database)."""

from __future__ import annotations

import pytest

from repo_domain.accounts import check_password_policy, common_passwords, normalise_email
from repo_domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Ada@Example.COM ", "ada@example.com"),
        ("\uff41\uff44\uff41@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", "ada@example.com"),
        ("STRASSE@example.com", "strasse@example.com"),
        ("stra\u00dfe@example.com", "strasse@example.com"),  # casefold: sharp s -> ss
        ("o'brien+tag@sub.example.co.uk", "o'brien+tag@sub.example.co.uk"),
        ("x@xn--bcher-kva.example", "x@xn--bcher-kva.example"),
    ],
)
def test_emails_normalise_to_one_spelling(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "\u0430da@example.com",  # Cyrillic a
        "ada@ex\u03bfmple.com",  # Greek omicron
        "ada@b\u00fccher.example",  # non-ASCII domain: use its xn-- form
        "ada\u200b@example.com",  # zero-width space
        "ada",
        "ada@",
        "@example.com",
        "a..b@example.com",
        ".a@example.com",
        "ada@example",
        "ada@-example.com",
        "ada@example.123",
        "a" * 65 + "@example.com",
        "ada@" + "a" * 250 + ".com",
        "ada @example.com",
    ],
)
def test_invalid_and_look_alike_emails_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_email(raw)


@pytest.mark.parametrize(
    "password",
    [
        "        ",
        "\t\t\t\t\t\t\t\t",
        "short",
        "aaaaaaaaaa",
        "abababab",
        "password123",
        "Qwertyuiop",
        "iloveyou1",
        "x" * 257,
    ],
)
def test_weak_passwords_fail_the_policy(password: str) -> None:
    with pytest.raises(InvalidInput):
        check_password_policy(password)


def test_a_password_equal_to_the_email_fails() -> None:
    with pytest.raises(InvalidInput):
        check_password_policy("ada@example.com", email="ada@example.com")
    with pytest.raises(InvalidInput):
        check_password_policy("adalovelace", email="adalovelace@example.com")


def test_good_passwords_pass() -> None:
    for password in ("correct horse battery staple", "Zx9!long-enough", "  spaced out pass  "):
        check_password_policy(password, email="ada@example.com")


def test_the_common_password_list_ships_with_the_package() -> None:
    words = common_passwords()
    assert len(words) > 1000
    assert {"password", "12345678", "qwerty123", "demo-password"} <= words
