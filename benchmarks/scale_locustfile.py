"""Locust users for ``benchmarks/scale.py`` (not run on its own).

Environment from scale.py: SCALE_TOKENS (a file, one ``role<TAB>token<TAB>extra`` a line),
SCALE_ASSESSMENTS (comma-separated published assessment ids), SCALE_WEB (the web app's base URL),
SCALE_USERS (seeded user count). Every locust user takes the next token of its role, so each
learner writes only its own attempts' rows.
"""

from __future__ import annotations

import itertools
import os
import random
from pathlib import Path
from typing import Any

from locust import HttpUser, between, task

_TOKENS: dict[str, list[str]] = {}
for _line in Path(os.environ["SCALE_TOKENS"]).read_text().splitlines():
    _role, _tok = _line.split("\t")[:2]
    _TOKENS.setdefault(_role, []).append(_tok)
_NEXT = {role: itertools.count() for role in _TOKENS}
ASSESSMENTS = [int(a) for a in os.environ["SCALE_ASSESSMENTS"].split(",")]
N_USERS = int(os.environ.get("SCALE_USERS", "1000"))


def _token(role: str) -> str:
    tokens = _TOKENS[role]
    return tokens[next(_NEXT[role]) % len(tokens)]


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


class Learner(HttpUser):
    """Browses the catalogue, takes and submits its own attempts, reads its history."""

    weight = 12
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {_token('learner')}"

    @task(4)
    def browse(self) -> None:
        self.client.get("/assessments?limit=20", name="GET /assessments")
        self.client.get(f"/assessments/{random.choice(ASSESSMENTS)}", name="GET /assessments/{id}")

    @task(1)
    def history(self) -> None:
        self.client.get("/attempts?limit=20", name="GET /attempts (history)")
        self.client.get("/users/me", name="GET /users/me")

    @task(3)
    def take(self) -> None:
        aid = random.choice(ASSESSMENTS)
        detail = self.client.get(f"/assessments/{aid}", name="GET /assessments/{id}").json()
        start = self.client.post(
            f"/assessments/{aid}/attempts", name="POST /assessments/{id}/attempts (start)"
        )
        if not start.ok:
            return
        attempt = start.json()["id"]
        for question in detail["questions"]:
            self.client.put(
                f"/attempts/{attempt}/responses/{question['id']}",
                json=_answer(question),
                name="PUT /attempts/{id}/responses/{qid}",
            )
        self.client.post(f"/attempts/{attempt}/submit", name="POST /attempts/{id}/submit")
        self.client.get(f"/attempts/{attempt}/result", name="GET /attempts/{id}/result")


class Author(HttpUser):
    """Edits its own draft assessment and reads its list."""

    weight = 2
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {_token('author')}"
        created = self.client.post(
            "/assessments",
            json={"title": "Scale draft", "description": "draft"},
            name="POST /assessments (create draft)",
        )
        self.draft = created.json()["id"] if created.ok else None

    @task(3)
    def edit(self) -> None:
        if self.draft is not None:
            self.client.patch(
                f"/assessments/{self.draft}",
                json={"description": f"edited {random.random()}"},
                name="PATCH /assessments/{id}",
            )

    @task(2)
    def mine(self) -> None:
        self.client.get("/assessments/mine?limit=20", name="GET /assessments/mine")


class Admin(HttpUser):
    """Searches users and opens statistics."""

    weight = 1
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {_token('admin')}"

    @task(2)
    def search(self) -> None:
        q = f"user{random.randrange(N_USERS)}"
        self.client.get(f"/admin/users?q={q}&limit=25", name="GET /admin/users?q=")

    @task(1)
    def stats(self) -> None:
        aid = random.choice(ASSESSMENTS)
        self.client.get(f"/assessments/{aid}/stats", name="GET /assessments/{id}/stats")


class WebVisitor(HttpUser):
    """Server-rendered pages of the web app (anonymous: home and login)."""

    weight = 1
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        self.client.base_url = os.environ["SCALE_WEB"]

    @task
    def pages(self) -> None:
        self.client.get(os.environ["SCALE_WEB"] + "/", name="WEB GET /")
        self.client.get(os.environ["SCALE_WEB"] + "/login", name="WEB GET /login")
