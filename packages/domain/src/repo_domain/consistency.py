"""Read-your-writes for both adapters: a request's unit of work, keyed by the request's session.

The one place where the API (bearer token) and the web UI (session cookie) turn the credential a
request presents into repo_db's read-your-writes ``client``: the SHA-256 of the token, which is
what ``auth_tokens.token_hash`` stores and what ``accounts.issue_token`` registers for a new
session (``repo_db.remember_writes``). A request's writing unit records its commit position for
that client; the client's later read-only units read from the replica only once it has replayed
that position (repo_db._routing), across requests and processes.

Keyed by session, not by user id, because the session is known before the unit opens (the user is
resolved inside it) and costs no lookup; a user's other devices see a write once the replica has
it (within DATABASE_READ_MAX_LAG_SECONDS). The credential is only hashed, never checked here:
a wrong one is refused by ``accounts.actor_for_token`` as before.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from repo_db import unit_of_work
from repo_domain.tokens import hash_token

#: Longer values are not tokens (``accounts.actor_for_token`` refuses them anyway).
MAX_CREDENTIAL_LENGTH = 256


def session_client(credential: str | None) -> str | None:
    """The read-your-writes key of a request presenting ``credential`` (None: anonymous)."""
    if not credential or len(credential) > MAX_CREDENTIAL_LENGTH or not credential.isascii():
        return None
    return hash_token(credential)


def request_unit(
    *, credential: str | None, read_only: bool, bind: Engine | None = None
) -> AbstractContextManager[Session]:
    """The unit of work of one request: read-only for GET/HEAD/OPTIONS, consistent for its
    session (reads see the session's own earlier writes, replica or not)."""
    return unit_of_work(read_only=read_only, bind=bind, client=session_client(credential))


__all__ = ["MAX_CREDENTIAL_LENGTH", "request_unit", "session_client"]
