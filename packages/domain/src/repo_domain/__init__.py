"""The platform's rules, shared by the HTTP API (apps/api), the web UI (apps/web) and the AI
worker (apps/ai).

The public face is the modules listed in ``__all__``, each with an ``__all__`` of its own;
adapters import a module and call its functions (``attempts.submit(session, actor=..., ...)``).
Every function that touches the database takes the caller's ``repo_db.unit_of_work()`` session:
the adapter owns the unit of work. Input is validated here (``repo_domain.validation``), and
failures raise ``repo_domain.errors.DomainError`` subclasses, which carry no HTTP status: each
adapter maps them to its own answer in one place.
"""

from __future__ import annotations

from repo_domain import (
    accounts,
    adaptive,
    assessments,
    attempts,
    cat,
    common,
    device_cookies,
    errors,
    grading,
    interchange,
    irt,
    item_analysis,
    qti,
    questions,
    readmodels,
    regrade,
    results,
    results_export,
    review_groups,
    search,
    signin,
    stats,
    throttle,
    tokens,
    validation,
    visibility,
)

__all__ = [
    "accounts",
    "adaptive",
    "assessments",
    "attempts",
    "cat",
    "common",
    "device_cookies",
    "errors",
    "grading",
    "interchange",
    "irt",
    "item_analysis",
    "qti",
    "questions",
    "readmodels",
    "regrade",
    "results",
    "results_export",
    "review_groups",
    "search",
    "signin",
    "stats",
    "throttle",
    "tokens",
    "validation",
    "visibility",
]
