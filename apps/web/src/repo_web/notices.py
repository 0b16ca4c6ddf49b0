"""Notices shown after a redirect: the URL carries a code (`?notice=saved`), never text.

A page renders only the fixed sentence of a known code (`notice_text`); anything else in the URL
renders nothing, so a link cannot make the product say a sentence of the sender's choosing
("Session expired. Re-enter your password at https://evil.example/login").
"""

from __future__ import annotations

from enum import StrEnum

from repo_db.models import Role
from repo_domain.errors import DomainError


class Notice(StrEnum):
    """Codes a redirect may carry. Admin refusals reuse the domain error's `code`."""

    SAVED = "saved"
    QUESTION_SAVED = "question-saved"
    QUESTION_DELETED = "question-deleted"
    QUESTION_MOVED = "question-moved"
    REGRADED = "regraded"
    PUBLISHED = "published"
    ARCHIVED = "archived"
    NEEDS_QUESTIONS = "needs-questions"
    SELF_LOCKOUT = "self_lockout"
    INVALID_ROLE = "invalid_role"
    NOT_CHANGED = "not_changed"
    USER_CHANGED = "user-changed"
    WELCOME = "welcome"


SENTENCES: dict[Notice, str] = {
    Notice.SAVED: "Settings saved.",
    Notice.QUESTION_SAVED: "Question saved.",
    Notice.QUESTION_DELETED: "Question deleted.",
    Notice.QUESTION_MOVED: "Question moved.",
    Notice.REGRADED: "Regraded: the affected results now use the corrected question.",
    Notice.PUBLISHED: "Published: learners can now find and take it.",
    Notice.ARCHIVED: "Archived: learners no longer see it.",
    Notice.NEEDS_QUESTIONS: "Add at least one question first.",
    Notice.SELF_LOCKOUT: "Admins cannot demote or deactivate themselves.",
    Notice.INVALID_ROLE: f"That role does not exist: the role is one of {', '.join(Role)}.",
    Notice.NOT_CHANGED: "The change was not saved.",
    Notice.USER_CHANGED: "Account changed. The audit log records who changed what.",
    Notice.WELCOME: "Welcome: your account is ready and you are logged in.",
}


def notice_text(code: str | None) -> str | None:
    """The sentence of a known notice code; None for no code or any other text."""
    try:
        return SENTENCES[Notice(code)] if code else None
    except ValueError:
        return None


def notice_for(error: DomainError) -> Notice:
    """The notice for a refused change: the error's own code when it has a sentence."""
    try:
        return Notice(error.code)
    except ValueError:
        return Notice.NOT_CHANGED
