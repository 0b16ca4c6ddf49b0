"""Statements per request on the hot paths, as budgets (deterministic, unlike timings).

Each statement is a database round trip, and round trips are most of the API's CPU per request
(docs/benchmarks.md, "API profile"). Counted: the statements SQLAlchemy sends for the request,
on both databases. Not counted, and the same for every request: the pool's pre-ping and, in a
writing unit, BEGIN and COMMIT (a read-only unit on PostgreSQL runs in autocommit). A budget
that a change exceeds is a regression to explain, not a number to raise quietly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from repo_api_tests.helpers import ApiUser, create_assessment, make_user


class StatementLog:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's explicit BEGIN (IMMEDIATE/DEFERRED)
            self.statements.append(" ".join(statement.split())[:100])

    def during(self, call: Callable[[], Any]) -> tuple[Any, list[str]]:
        self.statements.clear()
        response = call()
        assert response.status_code < 300, response.text
        return response, list(self.statements)


@pytest.fixture()
def log(db_engine: Engine) -> Iterator[StatementLog]:
    log = StatementLog()
    event.listen(db_engine, "before_cursor_execute", log)
    try:
        yield log
    finally:
        event.remove(db_engine, "before_cursor_execute", log)


@pytest.fixture()
def users(db_engine: Engine) -> dict[str, ApiUser]:
    return {role: make_user(db_engine, role=role) for role in ("learner", "author", "admin")}


def test_reads_within_budget(
    client: TestClient, log: StatementLog, users: dict[str, ApiUser]
) -> None:
    learner, author, admin = (
        users["learner"].headers,
        users["author"].headers,
        users["admin"].headers,
    )
    aid = create_assessment(client, users["author"])["id"]
    budgets = {  # path, headers: statements (the first is always the token lookup)
        ("/users/me", "learner"): 2,
        ("/assessments?limit=20", "learner"): 2,
        (f"/assessments/{aid}", "learner"): 4,  # assessment, questions, options
        ("/attempts?limit=20", "learner"): 2,
        ("/assessments/mine?limit=20", "author"): 2,
        ("/admin/users?q=learner&limit=25", "admin"): 2,
        (f"/assessments/{aid}/stats", "author"): 7,
    }
    headers = {"learner": learner, "author": author, "admin": admin}
    for (path, who), budget in budgets.items():
        _, statements = log.during(partial(client.get, path, headers=headers[who]))
        assert len(statements) <= budget, (path, statements)


def test_attempt_writes_within_budget(
    client: TestClient, log: StatementLog, users: dict[str, ApiUser]
) -> None:
    h = users["learner"].headers
    assessment = create_assessment(client, users["author"])
    aid = assessment["id"]
    numeric = next(q for q in assessment["questions"] if q["kind"] == "numeric")
    free_text = next(q for q in assessment["questions"] if q["kind"] == "free_text")

    start, statements = log.during(lambda: client.post(f"/assessments/{aid}/attempts", headers=h))
    assert len(statements) <= 6, statements
    attempt = start.json()["id"]

    def put(question: dict[str, Any], body: dict[str, Any]) -> Any:
        url = f"/attempts/{attempt}/responses/{question['id']}"
        return client.put(url, json=body, headers=h)

    # token, attempt FOR UPDATE, question + options + saved answer, INSERT or UPDATE
    _, statements = log.during(lambda: put(numeric, {"numeric_value": 41}))
    assert len(statements) == 4 and statements[-1].startswith("INSERT"), statements
    _, statements = log.during(lambda: put(numeric, {"numeric_value": 42}))
    assert len(statements) == 4 and statements[-1].startswith("UPDATE"), statements
    _, statements = log.during(lambda: put(numeric, {"numeric_value": 42}))
    assert len(statements) == 3, statements  # the same answer again writes nothing
    log.during(lambda: put(free_text, {"text_value": "a function calling itself"}))

    _, statements = log.during(lambda: client.post(f"/attempts/{attempt}/submit", headers=h))
    assert len(statements) <= 11, statements
    assert sum(s.startswith("INSERT INTO jobs") for s in statements) == 1, statements
    _, statements = log.during(lambda: client.get(f"/attempts/{attempt}/result", headers=h))
    assert len(statements) <= 4, statements
