"""The audit log of admin and author actions: who did what, when, with the values before and after.

Each changing domain function calls ``record`` inside its own unit of work, so an action and its
log line commit together or not at all. Only changed fields are written (``changes``), and never
a secret: accounts log role, status and name, never a password hash or token.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from repo_db.models import AuditEvent, User
from repo_domain import validation
from repo_domain.common import Actor, KeysetPage, keyset_page
from repo_domain.errors import Forbidden, InvalidInput


class Subject(StrEnum):
    USER = "user"
    ASSESSMENT = "assessment"
    QUESTION = "question"


class Action(StrEnum):
    USER_UPDATED = "user.updated"
    ASSESSMENT_CREATED = "assessment.created"
    ASSESSMENT_UPDATED = "assessment.updated"
    ASSESSMENT_PUBLISHED = "assessment.published"
    ASSESSMENT_ARCHIVED = "assessment.archived"
    QUESTION_ADDED = "question.added"
    QUESTION_UPDATED = "question.updated"
    QUESTION_DELETED = "question.deleted"
    QUESTION_CORRECTED = "question.corrected"  # a published question's new version
    QUESTION_REGRADED = "question.regraded"  # answers re-scored against the new version


def _plain(value: Any) -> Any:
    """A JSON-storable form: enums as their value, datetimes as ISO text."""
    if isinstance(value, StrEnum):
        return value.value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def changes(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose value differs, as (before, after)."""
    keys = [k for k in after if _plain(before.get(k)) != _plain(after[k])]
    return {k: _plain(before.get(k)) for k in keys}, {k: _plain(after[k]) for k in keys}


def record(
    session: Session,
    *,
    actor: Actor,
    action: Action,
    subject: Subject,
    subject_id: int,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent | None:
    """Log one action (flushed with the caller's unit of work). Given both ``before`` and
    ``after`` (an update), only the changed fields are kept, and a change of nothing logs
    nothing; a creation gives only ``after``, a deletion only ``before``."""
    if before is not None and after is not None:
        old, new = changes(before, after)
        if not new:
            return None
    else:
        old = {k: _plain(v) for k, v in (before or {}).items()}
        new = {k: _plain(v) for k, v in (after or {}).items()}
    email = session.scalar(select(User.email).where(User.id == actor.id)) or f"user {actor.id}"
    event = AuditEvent(
        actor_id=actor.id,
        actor_email=email,
        action=action,
        subject_type=subject,
        subject_id=subject_id,
        before=old,
        after=new,
    )
    session.add(event)
    session.flush()
    return event


def _subject(value: Subject | str) -> Subject:
    try:
        return Subject(value)
    except ValueError:
        kinds = ", ".join(Subject)
        raise InvalidInput(f"subject is one of {kinds}", field="subject") from None


def list_events(
    session: Session,
    *,
    actor: Actor,
    subject: Subject | str | None = None,
    subject_id: int | None = None,
    before: int | None = None,
    limit: int,
) -> KeysetPage[AuditEvent]:
    """Admins only; newest first, keyset on the id (``before``: the last id of the previous
    page). ``subject``/``subject_id`` narrow it to one user, assessment or question."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit + 1)
    if subject is not None:
        kind = _subject(subject)
        stmt = stmt.where(AuditEvent.subject_type == kind)
        if subject_id is not None:
            target = validation.identifier(subject_id, field="subject_id")
            stmt = stmt.where(AuditEvent.subject_id == target)
    if before is not None:
        last = validation.integer(before, field="before", minimum=0, maximum=validation.MAX_ID)
        stmt = stmt.where(AuditEvent.id < last)
    return keyset_page(session.scalars(stmt).all(), limit=limit)
