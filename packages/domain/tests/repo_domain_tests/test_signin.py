"""The account service (repo_domain.signin) on a real unit-of-work factory, SQLite and PostgreSQL:
log in, sign up, the taken-email rule, the policy refusals, the throttle, the session convention."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, func, select

import repo_domain.accounts
import repo_domain.signin
from repo_db import unit_of_work
from repo_db.models import AuthToken, Role, User
from repo_db.security import hash_password
from repo_db.testing import truncate_all
from repo_domain.errors import InvalidInput, TooManyRequests, Unauthorized
from repo_domain.signin import AccountService
from repo_domain.throttle import Throttle, ThrottleRates
from repo_domain.tokens import hash_token

T = TypeVar("T")
PASSWORD = "correct-horse-battery"
ADDRESS = "192.0.2.1"


@functools.lru_cache(maxsize=1)
def _hash() -> str:
    return hash_password(PASSWORD)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def service(engine: Engine, **rates: str) -> AccountService:
    defaults = {
        "login_per_address": "1000/minute",
        "login_global": "1000/minute",
        "login_failures_per_account": "1000/minute",
        "login_failures_per_device": "1000/minute",
        "register_per_address": "1000/minute",
        "register_per_account": "1000/minute",
    }
    throttle = Throttle(
        "memory://", rates=ThrottleRates(**{**defaults, **rates}), key_prefix="test"
    )
    return AccountService(
        units=functools.partial(unit_of_work, bind=engine),
        throttle=throttle,
        token_ttl=timedelta(hours=1),
    )


@pytest.fixture()
def engine(db_engine: Engine) -> Iterator[Engine]:
    try:
        yield db_engine
    finally:
        truncate_all(db_engine)


def add_user(engine: Engine, email: str, *, is_active: bool = True) -> int:
    with unit_of_work(bind=engine) as session:
        user = User(
            email=email,
            password_hash=_hash(),
            display_name="Someone",
            role=Role.LEARNER,
            is_active=is_active,
        )
        session.add(user)
        session.flush()
        return user.id


def user_rows(engine: Engine) -> list[tuple[str, str, str, str]]:
    with unit_of_work(read_only=True, bind=engine) as session:
        rows = session.execute(
            select(User.email, User.display_name, User.role, User.password_hash).order_by(User.id)
        ).all()
    return [tuple(row) for row in rows]


def token_count(engine: Engine) -> int:
    with unit_of_work(read_only=True, bind=engine) as session:
        return session.scalar(select(func.count()).select_from(AuthToken)) or 0


def test_log_in_issues_a_stored_token(engine: Engine) -> None:
    user_id = add_user(engine, "ada@example.com")
    issued = run(
        service(engine).log_in(email=" ADA@Example.com", password=PASSWORD, address=ADDRESS)
    )
    assert issued.user.id == user_id
    with unit_of_work(read_only=True, bind=engine) as session:
        stored = session.scalars(select(AuthToken.token_hash)).all()
    assert stored == [hash_token(issued.token)]


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ada@example.com", "wrong-password"),
        ("ghost@example.com", PASSWORD),
        ("not an address", PASSWORD),
        ("inactive@example.com", PASSWORD),
    ],
    ids=["wrong-password", "unknown", "not-an-address", "inactive"],
)
def test_every_failed_log_in_is_the_same_unauthorized(
    engine: Engine, email: str, password: str
) -> None:
    add_user(engine, "ada@example.com")
    add_user(engine, "inactive@example.com", is_active=False)
    with pytest.raises(Unauthorized) as caught:
        run(service(engine).log_in(email=email, password=password, address=ADDRESS))
    assert (caught.value.code, caught.value.message) == (
        "invalid_credentials",
        "wrong email or password",
    )
    assert token_count(engine) == 0


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("ada\x00@example.com", PASSWORD, "email"),
        ("a" * 300 + "@example.com", PASSWORD, "email"),
        ("", PASSWORD, "email"),
        ("ada@example.com", "pass\x00word-long", "password"),
        ("ada@example.com", "\ud800" * 10, "password"),
        ("ada@example.com", "x" * 257, "password"),
        ("ada@example.com", "", "password"),
    ],
)
def test_input_that_cannot_be_a_credential_is_invalid(
    engine: Engine, email: str, password: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        run(service(engine).log_in(email=email, password=password, address=ADDRESS))
    assert caught.value.field == field


def test_argon2_runs_with_no_unit_open_and_in_the_adapters_offloader(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The adapter decides where blocking work runs: each step goes through its offloader,
    and Argon2 sees no connection checked out."""
    add_user(engine, "ada@example.com")
    steps: list[str] = []
    checked_out: list[int] = []
    real_verify = repo_domain.accounts.verify_password

    def recording_verify(password_hash: str, plain: str) -> bool:
        checked_out.append(engine.pool.checkedout())  # type: ignore[attr-defined]
        return real_verify(password_hash, plain)

    monkeypatch.setattr(repo_domain.accounts, "verify_password", recording_verify)

    def offloader(name: str) -> Callable[[Callable[[], T]], Coroutine[Any, Any, T]]:
        async def offload(call: Callable[[], T], /) -> T:
            steps.append(name)
            return call()

        return offload

    accounts_service = AccountService(
        units=functools.partial(unit_of_work, bind=engine),
        throttle=service(engine).throttle,
        token_ttl=timedelta(hours=1),
        run_io=offloader("io"),
        run_argon2=offloader("argon2"),
    )
    run(accounts_service.log_in(email="ada@example.com", password=PASSWORD, address=ADDRESS))
    assert steps == ["io", "io", "argon2", "io"]  # throttle, read, verify, issue
    steps.clear()
    with pytest.raises(Unauthorized):
        run(accounts_service.log_in(email="ada@example.com", password="nope-nope", address=ADDRESS))
    assert steps == ["io", "io", "argon2", "io"]  # throttle, read, verify, count the failure
    assert checked_out == [0, 0]


def test_sign_up_creates_a_learner_with_a_normalised_email_and_signs_it_in(
    engine: Engine,
) -> None:
    accounts_service = service(engine)
    signed_in = run(
        accounts_service.sign_up(
            email=" Ada@Example.COM ",
            password="analytical-engine",
            display_name="  Ada Lovelace ",
            address=ADDRESS,
        )
    )
    [(email, name, role, password_hash)] = user_rows(engine)
    assert (email, name, role) == ("ada@example.com", "Ada Lovelace", Role.LEARNER)
    assert password_hash.startswith("$argon2")
    # Signed in as a log-in would be: a stored token (its hash only) and a device cookie.
    assert signed_in is not None and signed_in.user.email == "ada@example.com"
    with unit_of_work(read_only=True, bind=engine) as session:
        assert session.scalars(select(AuthToken.token_hash)).all() == [hash_token(signed_in.token)]
        actor = repo_domain.accounts.actor_for_token(session, token=signed_in.token)
    assert actor.role == Role.LEARNER
    device = accounts_service.throttle.devices.device(
        signed_in.device_token, account="ada@example.com"
    )
    assert device is not None
    issued = run(
        service(engine).log_in(
            email="ada@example.com", password="analytical-engine", address=ADDRESS
        )
    )
    assert issued.user.email == "ada@example.com"


def test_a_taken_email_gets_no_session_and_changes_nothing(engine: Engine) -> None:
    add_user(engine, "ada@example.com")
    before = user_rows(engine)
    hashed: list[str] = []
    real_hash = repo_domain.signin.hash_password

    def counting_hash(password: str) -> str:
        hashed.append(password)
        return real_hash(password)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(repo_domain.signin, "hash_password", counting_hash)
        taken = run(
            service(engine).sign_up(
                email="ADA@example.com",
                password="another-passphrase",
                display_name="Impostor",
                address=ADDRESS,
            )
        )
        fresh = run(
            service(engine).sign_up(
                email="new@example.com",
                password="another-passphrase",
                display_name="New",
                address=ADDRESS,
            )
        )
    assert taken is None  # no session: the adapters answer SIGN_UP_ACCEPTED
    assert fresh is not None and fresh.user.email == "new@example.com"
    assert len(hashed) == 2  # after the same Argon2 work
    assert user_rows(engine)[0] == before[0]  # the taken account keeps its name and password
    assert [row[0] for row in user_rows(engine)] == ["ada@example.com", "new@example.com"]
    assert token_count(engine) == 1  # the new account's session only


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"password": "short"}, "password", "weak_password"),
        ({"password": "password123"}, "password", "weak_password"),
        ({"password": "lovelace@example.org"}, "password", "weak_password"),
        ({"password": "tab\tis-fine\x01-not"}, "password", "invalid_text"),
        ({"email": "\u0430da@example.org"}, "email", "invalid_email"),
        ({"email": "lovelace@example.org\x00"}, "email", "invalid_email"),
        ({"display_name": "   "}, "display_name", "required"),
        ({"display_name": "Ada\x00"}, "display_name", "invalid_text"),
        ({"display_name": "A" * 101}, "display_name", "too_long"),
    ],
)
def test_sign_up_refusals_name_their_field_and_create_nothing(
    engine: Engine, changes: dict[str, str], field: str, code: str
) -> None:
    body = {
        "email": "lovelace@example.org",
        "password": "analytical-engine",
        "display_name": "Ada",
        **changes,
    }
    with pytest.raises(InvalidInput) as caught:
        run(service(engine).sign_up(address=ADDRESS, **body))
    assert (caught.value.field, caught.value.code) == (field, code)
    assert user_rows(engine) == []


def test_new_account_problems_lists_every_field(engine: Engine) -> None:
    problems = repo_domain.accounts.new_account_problems(
        email="nope", password="short", display_name=""
    )
    assert [p.field for p in problems] == ["display_name", "email", "password"]


def log_in(
    accounts_service: AccountService,
    email: str,
    password: str,
    *,
    address: str = ADDRESS,
    device_token: str | None = None,
) -> repo_domain.signin.LoggedIn:
    return run(
        accounts_service.log_in(
            email=email, password=password, address=address, device_token=device_token
        )
    )


def test_failed_untrusted_log_ins_lock_untrusted_clients_out_even_for_the_right_password(
    engine: Engine,
) -> None:
    """Changed with device cookies: the lockout now applies to untrusted clients only (a client
    that presents no device cookie of the account), which is every client in this test."""
    add_user(engine, "ada@example.com")
    add_user(engine, "bob@example.com")
    accounts_service = service(engine, login_failures_per_account="3 per 15 minutes")
    for _ in range(3):
        with pytest.raises(Unauthorized):
            log_in(accounts_service, "ada@example.com", "wrong-guess")
    with pytest.raises(TooManyRequests) as caught:
        log_in(accounts_service, "ADA@example.com", PASSWORD)
    assert 1 <= caught.value.retry_after <= 15 * 60
    assert log_in(accounts_service, "bob@example.com", PASSWORD).token


def test_a_log_in_issues_a_device_cookie_that_names_no_account(engine: Engine) -> None:
    add_user(engine, "ada@example.com")
    accounts_service = service(engine)
    first = log_in(accounts_service, "ada@example.com", PASSWORD)
    again = log_in(accounts_service, "ada@example.com", PASSWORD, device_token=first.device_token)
    assert first.device_token != again.device_token  # a fresh one per log-in
    assert "ada" not in first.device_token.lower()
    devices = accounts_service.throttle.devices
    assert devices.device(first.device_token, account="ada@example.com")
    assert devices.device(first.device_token, account="bob@example.com") is None


@pytest.mark.parametrize("attacker", ["many-addresses", "the-owners-address"])
def test_a_trusted_device_keeps_logging_in_while_guessers_get_429(
    engine: Engine, attacker: str
) -> None:
    """OWASP device cookies: 30 wrong passwords from untrusted sources lock untrusted clients
    out of the account, never the owner's device, even from the owner's own address (a shared
    NAT, the same host) with the default per-address limit."""
    add_user(engine, "ada@example.com")
    accounts_service = service(
        engine, login_failures_per_account="10 per 15 minutes", login_per_address="30/minute"
    )
    owner = log_in(accounts_service, "ada@example.com", PASSWORD, address="198.51.100.7")
    statuses: list[str] = []
    for i in range(30):
        address = f"203.0.113.{i}" if attacker == "many-addresses" else "198.51.100.7"
        try:
            log_in(accounts_service, "ada@example.com", f"guess-{i}", address=address)
        except Unauthorized:
            statuses.append("401")
        except TooManyRequests:
            statuses.append("429")
    assert statuses == ["401"] * 10 + ["429"] * 20
    with pytest.raises(TooManyRequests):  # untrusted, even with the right password
        log_in(accounts_service, "ada@example.com", PASSWORD, address="203.0.113.99")
    back = log_in(
        accounts_service,
        "ada@example.com",
        PASSWORD,
        address="198.51.100.7",
        device_token=owner.device_token,
    )
    assert back.token and back.user.email == "ada@example.com"
    # The owner's own typo on the trusted device is a plain 401, not a 429.
    with pytest.raises(Unauthorized):
        log_in(
            accounts_service,
            "ada@example.com",
            "owner-typo",
            address="198.51.100.7",
            device_token=back.device_token,
        )


@pytest.mark.parametrize("which", ["forged", "other-account", "garbage", "too-long"])
def test_a_forged_or_foreign_device_cookie_counts_as_untrusted(engine: Engine, which: str) -> None:
    add_user(engine, "ada@example.com")
    add_user(engine, "eve@example.com")
    accounts_service = service(engine, login_failures_per_account="2 per 15 minutes")
    eves = log_in(accounts_service, "eve@example.com", PASSWORD).device_token
    nonce, signature = eves.split(".")
    presented = {
        "forged": f"{nonce}.{signature[:-2]}{'AA' if not signature.endswith('AA') else 'BB'}",
        "other-account": eves,  # a valid cookie, but of the attacker's own account
        "garbage": "not-a-device-cookie",
        "too-long": eves + "x" * 200,
    }[which]
    for _ in range(2):
        with pytest.raises(Unauthorized):
            log_in(accounts_service, "ada@example.com", "wrong-guess", device_token=presented)
    with pytest.raises(TooManyRequests):
        log_in(accounts_service, "ada@example.com", PASSWORD, device_token=presented)


def test_a_device_cookie_of_another_secret_counts_as_untrusted(engine: Engine) -> None:
    add_user(engine, "ada@example.com")
    elsewhere = Throttle("memory://", rates=ThrottleRates(), key_prefix="x", device_secret="s" * 32)
    token = elsewhere.devices.issue(account="ada@example.com")
    accounts_service = service(engine, login_failures_per_account="1 per 15 minutes")
    with pytest.raises(Unauthorized):
        log_in(accounts_service, "ada@example.com", "wrong-guess", device_token=token)
    with pytest.raises(TooManyRequests):
        log_in(accounts_service, "ada@example.com", PASSWORD, device_token=token)


def test_a_device_over_its_own_limit_is_locked_out_and_then_untrusted(engine: Engine) -> None:
    add_user(engine, "ada@example.com")
    accounts_service = service(
        engine,
        login_failures_per_device="3 per 15 minutes",
        login_failures_per_account="2 per 15 minutes",
    )
    device = log_in(accounts_service, "ada@example.com", PASSWORD).device_token
    second_browser = log_in(accounts_service, "ada@example.com", PASSWORD).device_token
    # Untrusted guessers exhaust the account's untrusted failures first.
    for _ in range(2):
        with pytest.raises(Unauthorized):
            log_in(accounts_service, "ada@example.com", "wrong-guess", address="203.0.113.1")
    # The device has 3 failures of its own (trusted: the account's lockout does not apply).
    for _ in range(3):
        with pytest.raises(Unauthorized):
            log_in(accounts_service, "ada@example.com", "stolen-device", device_token=device)
    # Now on the lockout list: untrusted, so the account's untrusted lockout applies to it.
    with pytest.raises(TooManyRequests):
        log_in(accounts_service, "ada@example.com", PASSWORD, device_token=device)
    # The owner's other device is not affected.
    assert log_in(accounts_service, "ada@example.com", PASSWORD, device_token=second_browser)


def test_a_locked_out_device_is_untrusted_but_not_refused_by_itself(engine: Engine) -> None:
    """A device on the lockout list is an untrusted client like any other: while the account's
    untrusted failures are below their limit, the right password still works (and brings a
    fresh, trusted device cookie)."""
    add_user(engine, "ada@example.com")
    accounts_service = service(
        engine,
        login_failures_per_device="2 per 15 minutes",
        login_failures_per_account="5 per 15 minutes",
    )
    device = log_in(accounts_service, "ada@example.com", PASSWORD).device_token
    throttle = accounts_service.throttle
    nonce = throttle.devices.device(device, account="ada@example.com")
    assert nonce is not None
    for _ in range(2):
        with pytest.raises(Unauthorized):
            log_in(accounts_service, "ada@example.com", "wrong-guess", device_token=device)
    assert throttle.check_login(address=ADDRESS, account="ada@example.com", device=nonce) is None
    fresh = log_in(accounts_service, "ada@example.com", PASSWORD, device_token=device)
    fresh_nonce = throttle.devices.device(fresh.device_token, account="ada@example.com")
    assert fresh_nonce is not None
    assert throttle.check_login(address=ADDRESS, account="ada@example.com", device=fresh_nonce)


def test_the_global_limit_counts_untrusted_attempts_only(engine: Engine) -> None:
    add_user(engine, "ada@example.com")
    add_user(engine, "bob@example.com")
    accounts_service = service(engine, login_global="3/minute")
    device = log_in(accounts_service, "ada@example.com", PASSWORD).device_token
    for i in range(2):
        with pytest.raises(Unauthorized):
            log_in(accounts_service, f"nobody{i}@example.com", "wrong-guess")
    with pytest.raises(TooManyRequests):
        log_in(accounts_service, "bob@example.com", PASSWORD, address="192.0.2.200")
    assert log_in(accounts_service, "ada@example.com", PASSWORD, device_token=device).token


def test_sign_up_is_throttled_per_address_before_any_work(engine: Engine) -> None:
    accounts_service = service(engine, register_per_address="2/hour")
    for n in range(2):
        run(
            accounts_service.sign_up(
                email=f"n{n}@example.com",
                password="a-fine-passphrase",
                display_name="N",
                address=ADDRESS,
            )
        )
    with pytest.raises(TooManyRequests):
        run(
            accounts_service.sign_up(
                email="n2@example.com",
                password="a-fine-passphrase",
                display_name="N",
                address=ADDRESS,
            )
        )
    assert len(user_rows(engine)) == 2
