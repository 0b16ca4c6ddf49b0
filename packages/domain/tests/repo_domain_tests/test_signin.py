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
        "login_failures_per_account": "1000/minute",
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


def test_sign_up_creates_a_learner_with_a_normalised_email(engine: Engine) -> None:
    run(
        service(engine).sign_up(
            email=" Ada@Example.COM ",
            password="analytical-engine",
            display_name="  Ada Lovelace ",
            address=ADDRESS,
        )
    )
    [(email, name, role, password_hash)] = user_rows(engine)
    assert (email, name, role) == ("ada@example.com", "Ada Lovelace", Role.LEARNER)
    assert password_hash.startswith("$argon2")
    issued = run(
        service(engine).log_in(
            email="ada@example.com", password="analytical-engine", address=ADDRESS
        )
    )
    assert issued.user.email == "ada@example.com"


def test_a_taken_email_gets_the_same_answer_and_changes_nothing(engine: Engine) -> None:
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
    assert taken is None and fresh is None  # the same answer
    assert len(hashed) == 2  # after the same Argon2 work
    assert user_rows(engine)[0] == before[0]  # the taken account keeps its name and password
    assert [row[0] for row in user_rows(engine)] == ["ada@example.com", "new@example.com"]


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


def test_failed_log_ins_lock_the_account_even_for_the_right_password(engine: Engine) -> None:
    add_user(engine, "ada@example.com")
    add_user(engine, "bob@example.com")
    accounts_service = service(engine, login_failures_per_account="3 per 15 minutes")
    for _ in range(3):
        with pytest.raises(Unauthorized):
            run(
                accounts_service.log_in(
                    email="ada@example.com", password="wrong-guess", address=ADDRESS
                )
            )
    with pytest.raises(TooManyRequests) as caught:
        run(accounts_service.log_in(email="ADA@example.com", password=PASSWORD, address=ADDRESS))
    assert 1 <= caught.value.retry_after <= 15 * 60
    assert run(
        accounts_service.log_in(email="bob@example.com", password=PASSWORD, address=ADDRESS)
    ).token


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
