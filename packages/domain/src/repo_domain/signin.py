"""Log in and sign up: the one account flow, used by the API and the web UI alike.

The two operations are the package's exception to "takes the caller's session": each needs
two short units of work with Argon2 (~0.1-0.4 s of CPU, 64 MiB) between them, and no database
connection may be checked out while Argon2 runs, or a log-in flood would exhaust the pool. So
the adapter still owns the unit of work, but hands the service a factory for it
(``units=functools.partial(repo_db.unit_of_work, bind=engine)``) instead of one open session.

Where the blocking work runs is the adapter's decision too, so the service takes two
*offloaders*: ``run_io`` for the throttle store and the two database units, ``run_argon2`` for
hashing and verification. The API passes its bulkheads (a small capacity limiter for Argon2 so
a flood cannot take the threads every other route needs, another for the auth I/O); the web
passes Starlette's thread pool; scripts and tests can pass `run_inline`. The service is
``async`` only because offloading is awaited: it never blocks the event loop itself (the input
checks it runs inline are microseconds of string work).

The order of the steps is the rule and exists only here:

* log in: input checks, the device cookie checked (valid for this account or untrusted), the
  throttle (per address; a trusted device against its own lockout, an untrusted client against
  the global limit and the account's untrusted failures: `repo_domain.throttle`), read the
  credentials, Argon2 with no unit open (unknown accounts verify against a dummy hash), a failure
  counts against the device or, untrusted, the account; a right password of an active account
  gets a token, a fresh device cookie and, when the Argon2 parameters changed, a fresh hash.
* sign up: input checks (display name, email spelling, password policy), throttle, Argon2, create
  a learner and, in the same unit, sign it in (a token and a device cookie, as a log-in gives).
  A taken email gets no session and the hedged answer (`SIGN_UP_ACCEPTED`) after the same
  Argon2 work; it never says "taken".

What sign-up tells about who has an account, and why that is accepted: a new address is signed
in and a taken one is not, so the answer differs. Someone probing an address learns it was free
only by creating an account on it (which then exists, and is throttled per address and per
email, `repo_domain.throttle`), and learns it was taken only by seeing no session. Keeping the
answers identical would need a confirmation e-mail before the first log-in, which the platform
does not send; log-in itself still answers an unknown and a wrong-password account alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from repo_db.models import Role, User
from repo_db.security import hash_password
from repo_domain import accounts
from repo_domain.accounts import IssuedToken, NewAccount
from repo_domain.errors import Conflict, Unauthorized
from repo_domain.throttle import Throttle

T = TypeVar("T")

#: What both adapters tell a sign-up, whether the address was free or taken.
SIGN_UP_ACCEPTED = (
    "If this address can be registered, the account now exists: log in with your password."
)


@dataclass(frozen=True, slots=True)
class LoggedIn:
    """A successful log-in: the bearer token and, for the client to keep and present on later
    log-ins, a fresh device cookie of the account (`repo_domain.device_cookies`)."""

    token: str
    expires_at: datetime
    user: User
    device_token: str


class Offload(Protocol):
    """Runs a blocking call where the adapter wants it and awaits the result."""

    def __call__(self, func: Callable[[], T], /) -> Awaitable[T]: ...


class UnitFactory(Protocol):
    """Opens a unit of work, e.g. ``functools.partial(repo_db.unit_of_work, bind=engine)``."""

    def __call__(
        self, *, read_only: bool = ..., fresh: bool = ...
    ) -> AbstractContextManager[Session]: ...


async def run_inline(func: Callable[[], T], /) -> T:
    """The offloader of scripts and tests: run the call right here."""
    return func()


@dataclass(frozen=True, slots=True)
class AccountService:
    """Log in and sign up over the adapter's units of work, throttle and offloaders."""

    units: UnitFactory
    throttle: Throttle
    token_ttl: timedelta
    run_io: Offload = run_inline
    run_argon2: Offload = run_inline

    async def log_in(
        self, *, email: str, password: str, address: str, device_token: str | None = None
    ) -> LoggedIn:
        """A fresh token and device cookie for the right password of an active account.

        `device_token` is the device cookie the client presents, if any (anything that is not a
        valid one of this account counts as none). Raises `InvalidInput` (cannot be a
        credential), `TooManyRequests` / `ServiceUnavailable` (throttled / throttle store down)
        and `Unauthorized` (wrong email or password, the same for an unknown, a deactivated or a
        wrongly typed account)."""
        attempt = accounts.check_log_in(email=email, password=password)
        key = attempt.throttle_key
        presented = self.throttle.devices.device(device_token, account=key)  # HMAC: inline
        device = await self.run_io(
            partial(self.throttle.check_login, address=address, account=key, device=presented)
        )
        credentials = accounts.UNKNOWN_ACCOUNT
        if attempt.email is not None:
            credentials = await self.run_io(partial(self._credentials, attempt.email))
        verdict = await self.run_argon2(
            partial(accounts.verify_credentials, credentials, attempt.password)
        )
        if not verdict.ok:
            await self.run_io(partial(self.throttle.login_failed, account=key, device=device))
            raise Unauthorized("wrong email or password", code="invalid_credentials")
        issued = await self.run_io(partial(self._issue, credentials, verdict.new_hash))
        return LoggedIn(
            token=issued.token,
            expires_at=issued.expires_at,
            user=issued.user,
            device_token=self.throttle.devices.issue(account=key),
        )

    async def sign_up(
        self, *, email: str, password: str, display_name: str, address: str
    ) -> LoggedIn | None:
        """Create a learner account (self-service never chooses a role) and sign it in.

        Returns the new session (as `log_in` would) for a new address, None for a taken one:
        the adapter then answers `SIGN_UP_ACCEPTED`, no session. Raises `InvalidInput` (a rule
        broken; `field` names the input) and the throttle's errors."""
        account = accounts.check_new_account(
            email=email, password=password, display_name=display_name
        )
        await self.run_io(
            partial(self.throttle.check_register, address=address, account=account.email)
        )
        password_hash = await self.run_argon2(partial(hash_password, account.password))
        issued = await self.run_io(partial(self._create, account, password_hash))
        if issued is None:
            return None
        return LoggedIn(
            token=issued.token,
            expires_at=issued.expires_at,
            user=issued.user,
            device_token=self.throttle.devices.issue(account=account.email),
        )

    def _credentials(self, email: str) -> accounts.Credentials:
        # fresh: from the primary, never a lagging replica: an account signed up a moment ago
        # logs in, and a deactivation or a new password takes effect at once.
        with self.units(read_only=True, fresh=True) as session:
            return accounts.find_credentials(session, email=email)

    def _issue(self, credentials: accounts.Credentials, new_hash: str | None) -> IssuedToken:
        with self.units() as session:
            return accounts.issue_token(
                session, credentials=credentials, ttl=self.token_ttl, new_hash=new_hash
            )

    def _create(self, account: NewAccount, password_hash: str) -> IssuedToken | None:
        # A taken address: None, after the same Argon2 work (and no word of "taken").
        with self.units() as session:
            try:
                user = accounts.create_account(
                    session,
                    email=account.email,
                    password_hash=password_hash,
                    display_name=account.display_name,
                    role=Role.LEARNER,
                )
            except Conflict:
                return None
            session.flush()
            credentials = accounts.Credentials(
                user_id=user.id, password_hash=password_hash, is_active=True
            )
            return accounts.issue_token(session, credentials=credentials, ttl=self.token_ttl)


__all__ = [
    "SIGN_UP_ACCEPTED",
    "AccountService",
    "LoggedIn",
    "Offload",
    "UnitFactory",
    "run_inline",
]
