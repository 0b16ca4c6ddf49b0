"""Locust users for ``benchmarks/scale.py`` (not run on its own).

Environment from scale.py: SCALE_TOKENS (a file, one ``role<TAB>token<TAB>extra`` a line),
SCALE_ASSESSMENTS (comma-separated published assessment ids), SCALE_WEB (the web app's base URL),
SCALE_USERS (seeded user count), SCALE_ANSWER_THINK (``MIN,MAX`` seconds a learner thinks before
each answer; ``0,0`` answers back to back), SCALE_HTTP_CLIENT (``fast``: locust's FastHttpUser on
geventhttpclient, the default; ``requests``: HttpUser). Every locust user takes the next token of
its role, so each learner writes only its own attempts' rows; the token goes in every request's
headers (the same code for both clients).
"""

from __future__ import annotations

import itertools
import os
import random
import time
from pathlib import Path
from typing import Any

from locust import FastHttpUser, HttpUser, between, task

_TOKENS: dict[str, list[str]] = {}
for _line in Path(os.environ["SCALE_TOKENS"]).read_text().splitlines():
    _role, _tok = _line.split("\t")[:2]
    _TOKENS.setdefault(_role, []).append(_tok)
_NEXT = {role: itertools.count() for role in _TOKENS}
ASSESSMENTS = [int(a) for a in os.environ["SCALE_ASSESSMENTS"].split(",")]
N_USERS = int(os.environ.get("SCALE_USERS", "1000"))
ANSWER_THINK = tuple(float(v) for v in os.environ.get("SCALE_ANSWER_THINK", "0.5,2.0").split(","))
# The load generator shares the 2 cores with what it measures: the cheaper client leaves more.
Client = HttpUser if os.environ.get("SCALE_HTTP_CLIENT", "fast") == "requests" else FastHttpUser


def _token(role: str) -> str:
    tokens = _TOKENS[role]
    return tokens[next(_NEXT[role]) % len(tokens)]


class TokenUser(Client):  # type: ignore[valid-type,misc]
    """A locust user sending one role's bearer token with every request."""

    abstract = True
    role = ""

    def on_start(self) -> None:
        self.auth = {"Authorization": f"Bearer {_token(self.role)}"}

    def get(self, path: str, name: str) -> Any:
        return self.client.get(path, name=name, headers=self.auth)


def _ok(response: Any) -> bool:
    return 200 <= int(response.status_code) < 300


def _answer(question: dict[str, Any]) -> dict[str, Any]:
    kind = question["kind"]
    options = [o["id"] for o in question.get("options", [])]
    if kind == "single_choice":
        return {"selected_option_ids": [random.choice(options)]}
    if kind == "multiple_choice":
        return {"selected_option_ids": random.sample(options, 2)}
    if kind == "numeric":
        return {"numeric_value": random.randint(0, 30)}
    return {"text_value": random.choice(["a reference answer", "no idea", "the answer is 42"])}


class Learner(TokenUser):
    """Browses the catalogue, takes and submits its own attempts, reads its history."""

    weight = 12
    wait_time = between(0.5, 2.0)
    role = "learner"

    @task(4)
    def browse(self) -> None:
        self.get("/assessments?limit=20", name="GET /assessments")
        self.get(f"/assessments/{random.choice(ASSESSMENTS)}", name="GET /assessments/{id}")

    @task(1)
    def history(self) -> None:
        self.get("/attempts?limit=20", name="GET /attempts (history)")
        self.get("/users/me", name="GET /users/me")

    @task(3)
    def take(self) -> None:
        aid = random.choice(ASSESSMENTS)
        detail = self.get(f"/assessments/{aid}", name="GET /assessments/{id}")
        if not _ok(detail):
            return
        start = self.client.post(
            f"/assessments/{aid}/attempts",
            name="POST /assessments/{id}/attempts (start)",
            headers=self.auth,
        )
        if not _ok(start):
            return
        attempt = start.json()["id"]
        for question in detail.json()["questions"]:
            if ANSWER_THINK[1]:  # a person reads the question before answering it
                time.sleep(random.uniform(*ANSWER_THINK))  # cooperative: locust patches time
            self.client.put(
                f"/attempts/{attempt}/responses/{question['id']}",
                json=_answer(question),
                name="PUT /attempts/{id}/responses/{qid}",
                headers=self.auth,
            )
        self.client.post(
            f"/attempts/{attempt}/submit", name="POST /attempts/{id}/submit", headers=self.auth
        )
        self.get(f"/attempts/{attempt}/result", name="GET /attempts/{id}/result")


class Author(TokenUser):
    """Edits its own draft assessment and reads its list."""

    weight = 2
    wait_time = between(1.0, 3.0)
    role = "author"

    def on_start(self) -> None:
        super().on_start()
        created = self.client.post(
            "/assessments",
            json={"title": "Scale draft", "description": "draft"},
            name="POST /assessments (create draft)",
            headers=self.auth,
        )
        self.draft = created.json()["id"] if _ok(created) else None

    @task(3)
    def edit(self) -> None:
        if self.draft is not None:
            self.client.patch(
                f"/assessments/{self.draft}",
                json={"description": f"edited {random.random()}"},
                name="PATCH /assessments/{id}",
                headers=self.auth,
            )

    @task(2)
    def mine(self) -> None:
        self.get("/assessments/mine?limit=20", name="GET /assessments/mine")


class Admin(TokenUser):
    """Searches users and opens statistics."""

    weight = 1
    wait_time = between(1.0, 3.0)
    role = "admin"

    @task(2)
    def search(self) -> None:
        q = f"user{random.randrange(N_USERS)}"
        self.get(f"/admin/users?q={q}&limit=25", name="GET /admin/users?q=")

    @task(1)
    def stats(self) -> None:
        aid = random.choice(ASSESSMENTS)
        self.get(f"/assessments/{aid}/stats", name="GET /assessments/{id}/stats")


class WebVisitor(Client):  # type: ignore[valid-type,misc]
    """Server-rendered pages of the web app (anonymous: home and login)."""

    weight = 1
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        self.client.base_url = os.environ["SCALE_WEB"]

    @task
    def pages(self) -> None:
        self.client.get(os.environ["SCALE_WEB"] + "/", name="WEB GET /")
        self.client.get(os.environ["SCALE_WEB"] + "/login", name="WEB GET /login")
