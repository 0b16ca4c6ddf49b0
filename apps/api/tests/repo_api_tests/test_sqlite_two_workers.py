"""Two API worker processes on one SQLite file under concurrent writers: no 5xx, no lost write.

The API runs as a real server (`python -m repo_api --workers 2`), so the two workers are two
processes with their own connection pools competing for SQLite's single write lock. Three
learners start attempts, save answers and submit; three authors create and edit drafts, all at
once for a bounded time. Afterwards the database must hold exactly what the server acknowledged
with a 2xx answer, and no request may have been answered with a 5xx (503 = "database is locked").
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from repo_api_tests.helpers import serve_api

LOAD_SECONDS = 12.0
LEARNERS = 3
AUTHORS = 3
PASSWORD = "two-workers-password"
ADMIN = ("admin@example.com", "demo-password")  # the demo data seeded into an empty database


@dataclass
class Server:
    base: str
    db_path: Path
    log_path: Path


@pytest.fixture()
def two_workers(tmp_path: Path) -> Iterator[Server]:
    db_path = tmp_path / "two-workers.sqlite3"
    with serve_api(tmp_path, sqlite_path=db_path, args=("--workers", "2"), name="server") as base:
        yield Server(base, db_path, tmp_path / "server.log")


@dataclass
class Tally:
    """What the server acknowledged (2xx) and every status it answered, per client."""

    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    attempts: set[int] = field(default_factory=set)
    submitted: set[int] = field(default_factory=set)
    answers: set[tuple[int, int]] = field(default_factory=set)
    assessments: dict[int, str] = field(default_factory=dict)  # id -> last acknowledged title
    edits: int = 0

    def record(self, response: httpx.Response) -> bool:
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.failures.append(
                f"{response.request.method} {response.request.url.path}: "
                f"{response.status_code} {response.text[:200]}"
            )
        return response.is_success


def _login(http: httpx.Client, email: str, password: str) -> str:
    login = http.post("/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    token: str = login.json()["access_token"]
    http.headers.update(_bearer(token))
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _answer(question: dict[str, Any], round_: int) -> dict[str, Any]:
    options = question["options"]
    if question["kind"] == "single_choice":
        return {"selected_option_ids": [options[round_ % len(options)]["id"]]}
    if question["kind"] == "multiple_choice":
        return {"selected_option_ids": [o["id"] for o in options[: 1 + round_ % 2]]}
    if question["kind"] == "numeric":
        return {"numeric_value": round_}
    return {"text_value": f"answer {round_}"}


def _learner(base: str, token: str, catalogue: list[dict[str, Any]], stop: float) -> Tally:
    tally = Tally()
    with httpx.Client(base_url=base, timeout=60, headers=_bearer(token)) as http:
        round_ = 0
        while time.monotonic() < stop:
            assessment = catalogue[round_ % len(catalogue)]
            round_ += 1
            try:
                started = http.post(f"/assessments/{assessment['id']}/attempts")
                if not tally.record(started):
                    continue
                attempt_id = started.json()["id"]
                tally.attempts.add(attempt_id)
                for question in assessment["questions"]:
                    saved = http.put(
                        f"/attempts/{attempt_id}/responses/{question['id']}",
                        json=_answer(question, round_),
                    )
                    if tally.record(saved):
                        tally.answers.add((attempt_id, question["id"]))
                submitted = http.post(f"/attempts/{attempt_id}/submit")
                if tally.record(submitted):
                    tally.submitted.add(attempt_id)
            except httpx.TransportError as exc:
                tally.failures.append(f"transport error: {exc!r}")
    return tally


def _draft(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "description": "written under load",
        "questions": [
            {"kind": "numeric", "prompt": "What is 6 * 7?", "numeric_answer": 42},
            {
                "kind": "single_choice",
                "prompt": "Pick one",
                "options": [{"text": "yes", "is_correct": True}, {"text": "no"}],
            },
        ],
    }


def _author(base: str, email: str, token: str, stop: float) -> Tally:
    tally = Tally()
    with httpx.Client(base_url=base, timeout=60, headers=_bearer(token)) as http:
        round_ = 0
        while time.monotonic() < stop:
            round_ += 1
            try:
                created = http.post("/assessments", json=_draft(f"{email} draft {round_}"))
                if not tally.record(created):
                    continue
                assessment_id = created.json()["id"]
                tally.assessments[assessment_id] = created.json()["title"]
                for edit in range(3):
                    title = f"{email} draft {round_} edit {edit}"
                    patched = http.patch(f"/assessments/{assessment_id}", json={"title": title})
                    if tally.record(patched):
                        tally.assessments[assessment_id] = title
                        tally.edits += 1
            except httpx.TransportError as exc:
                tally.failures.append(f"transport error: {exc!r}")
    return tally


def _setup_accounts(base: str) -> tuple[list[str], list[str], dict[str, str]]:
    """Register the six accounts, promote three to author, log everybody in (one at a time:
    a login verifies an Argon2 hash, deliberately slow, and is not part of the scenario)."""
    learners = [f"learner{i}@two-workers.example.org" for i in range(LEARNERS)]
    authors = [f"author{i}@two-workers.example.org" for i in range(AUTHORS)]
    tokens = {}
    with httpx.Client(base_url=base, timeout=60) as http:
        ids = {}
        for email in learners + authors:
            registered = http.post(
                "/auth/register",
                json={"email": email, "password": PASSWORD, "display_name": email.split("@")[0]},
            )
            # 201: a new address, signed in (its id comes from the login below).
            assert registered.status_code == 201, registered.text
        for email in authors:
            ids[email] = _user_id(http, email)
        _login(http, *ADMIN)
        for email in authors:
            promoted = http.patch(f"/admin/users/{ids[email]}", json={"role": "author"})
            assert promoted.status_code == 200, promoted.text
    for email in learners + authors:
        with httpx.Client(base_url=base, timeout=60) as http:
            tokens[email] = _login(http, email, PASSWORD)
    return learners, authors, tokens


def _user_id(http: httpx.Client, email: str) -> int:
    answer = http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    user_id: int = answer.json()["user"]["id"]
    return user_id


def _catalogue(base: str, token: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=base, timeout=60, headers=_bearer(token)) as http:
        items = http.get("/assessments", params={"limit": 10}).json()["items"]
        assert items, "the demo data has published assessments"
        return [http.get(f"/assessments/{item['id']}").json() for item in items]


def _count(db: Path, sql: str, *params: Any) -> int:
    with sqlite3.connect(db) as conn:
        value: int = conn.execute(sql, params).fetchone()[0]
        return value


def test_two_workers_on_sqlite_answer_no_5xx_and_lose_no_write(two_workers: Server) -> None:
    base = two_workers.base
    learners, authors, tokens = _setup_accounts(base)
    catalogue = _catalogue(base, tokens[learners[0]])

    stop = time.monotonic() + LOAD_SECONDS
    tallies: dict[str, Tally] = {}

    def run(email: str) -> None:
        if email in learners:
            tallies[email] = _learner(base, tokens[email], catalogue, stop)
        else:
            tallies[email] = _author(base, email, tokens[email], stop)

    threads = [threading.Thread(target=run, args=(email,)) for email in learners + authors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=LOAD_SECONDS + 120)
    assert len(tallies) == LEARNERS + AUTHORS, "a client thread did not finish"
    # The load is over and every acknowledged write is committed: count what is in the file.

    statuses: Counter[int] = sum((t.statuses for t in tallies.values()), Counter())
    failures = [f for t in tallies.values() for f in t.failures]
    acked = {
        "attempts": sum(len(tallies[e].attempts) for e in learners),
        "answers": sum(len(tallies[e].answers) for e in learners),
        "submitted": sum(len(tallies[e].submitted) for e in learners),
        "assessments": sum(len(tallies[e].assessments) for e in authors),
        "edits": sum(tallies[e].edits for e in authors),
    }
    # Printed for the report: `./pants test <this file> -- -s`.
    print(f"\nstatuses={dict(sorted(statuses.items()))} acknowledged={acked}")

    log_tail = two_workers.log_path.read_text()[-3000:]
    assert not failures, f"{len(failures)} failed requests, first: {failures[:5]}\n{log_tail}"
    assert not [code for code in statuses if code >= 500]
    # Enough load to mean something: both kinds of writers got through many times.
    assert acked["attempts"] >= 3 and acked["answers"] >= 12 and acked["edits"] >= 3, acked

    db = two_workers.db_path
    learner_ids = "SELECT id FROM users WHERE email LIKE 'learner%@two-workers.example.org'"
    author_ids = "SELECT id FROM users WHERE email LIKE 'author%@two-workers.example.org'"
    stored_attempts = _count(db, f"SELECT count(*) FROM attempts WHERE user_id IN ({learner_ids})")
    stored_answers = _count(
        db,
        "SELECT count(*) FROM responses WHERE attempt_id IN "
        f"(SELECT id FROM attempts WHERE user_id IN ({learner_ids}))",
    )
    stored_submitted = _count(
        db,
        f"SELECT count(*) FROM attempts WHERE user_id IN ({learner_ids}) "
        "AND status != 'in_progress'",
    )
    stored_assessments = _count(
        db, f"SELECT count(*) FROM assessments WHERE author_id IN ({author_ids})"
    )
    assert stored_attempts == acked["attempts"]
    assert stored_answers == acked["answers"]
    assert stored_submitted == acked["submitted"]
    assert stored_assessments == acked["assessments"]
    with sqlite3.connect(db) as conn:
        titles = dict(
            conn.execute(f"SELECT id, title FROM assessments WHERE author_id IN ({author_ids})")
        )
    expected = {k: v for e in authors for k, v in tallies[e].assessments.items()}
    assert titles == expected, "an acknowledged edit is missing from the database"
