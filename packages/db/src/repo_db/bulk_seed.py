"""Load-test data: N users plus assessments, attempts, responses and results in proportion.

PostgreSQL gets psycopg 3 ``COPY ... FROM STDIN`` on the raw connection (an order of magnitude
faster than INSERTs); SQLite gets batched ``executemany``. Re-running is idempotent: emails are
deterministic (``user{n}@seed.example.com``), existing users/assessments are skipped, and
attempts are only generated for users created by this run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, insert, select

from repo_db._context import unit_of_work
from repo_db._engine import get_direct_engine
from repo_db.models import (
    AnswerOption,
    Assessment,
    AssessmentStatus,
    AttemptStatus,
    GradingStatus,
    Question,
    QuestionKind,
    Role,
    User,
    metadata,
)
from repo_db.security import hash_password

SEED_DOMAIN = "seed.example.com"
SEED_PASSWORD = "seed-password"  # noqa: S105 - documented load-test credential
SEED_TITLE_PREFIX = "Seed assessment "
USERS_PER_AUTHOR = 1_000
USERS_PER_ASSESSMENT = 1_000
MIN_ASSESSMENTS = 3
QUESTIONS_PER_KIND = 2
OPTIONS_PER_CHOICE = 4
DEFAULT_BATCH_SIZE = 5_000
KINDS = tuple(kind.value for kind in QuestionKind)
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)

#: ``progress(table, rows_just_written)``
ProgressFn = Callable[[str, int], None]


@dataclass(frozen=True)
class BulkPlan:
    users: int
    assessments: int
    questions: int
    answer_options: int
    attempts: int
    responses: int
    results: int

    @classmethod
    def for_users(cls, n_users: int) -> BulkPlan:
        n_assessments = max(MIN_ASSESSMENTS, n_users // USERS_PER_ASSESSMENT)
        per_assessment = QUESTIONS_PER_KIND * len(KINDS)
        choice_questions = QUESTIONS_PER_KIND * 2
        return cls(
            users=n_users,
            assessments=n_assessments,
            questions=n_assessments * per_assessment,
            answer_options=n_assessments * choice_questions * OPTIONS_PER_CHOICE,
            attempts=n_users,
            responses=n_users * len(KINDS),
            results=n_users,
        )

    def totals(self) -> dict[str, int]:
        return dict(self.__dict__)


def seed_email(n: int) -> str:
    return f"user{n}@{SEED_DOMAIN}"


class _Writer:
    """Writes rows with COPY (PostgreSQL) or batched executemany (others)."""

    def __init__(self, conn: Connection, batch_size: int, progress: ProgressFn | None) -> None:
        self.conn = conn
        self.batch_size = batch_size
        self.progress = progress or (lambda _table, _n: None)
        self.use_copy = conn.dialect.name == "postgresql"

    def write(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        return (
            self._copy(table, columns, rows) if self.use_copy else self._batch(table, columns, rows)
        )

    def _copy(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        raw = self.conn.connection.driver_connection
        assert raw is not None
        # Names come from the models' metadata, never from input.
        sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        written = 0
        with raw.cursor() as cur:
            # Binary COPY needs each column's server type: ask the server (one round trip per
            # table) rather than guess it from the models. JSON values are dumped by psycopg.
            cur.execute(
                "SELECT attname, atttypid FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (table.name,),
            )
            oids = dict(cur.fetchall())
            with cur.copy(sql) as copy:
                copy.set_types([oids[c] for c in columns])
                write_row = copy.write_row
                batch_size = self.batch_size
                for row in rows:
                    write_row(row)
                    written += 1
                    if written % batch_size == 0:
                        self.progress(table.name, batch_size)
        self.progress(table.name, written % self.batch_size)
        return written

    def _batch(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        dialect = self.conn.dialect
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
        if compiled.positiontup != list(columns):  # Python-side defaults to fill in: slow path
            return self._batch_dicts(table, columns, rows)
        # Positional tuples through the types' own bind processors: the same values SQLAlchemy
        # would send, without building a dict and a parameter set per row.
        processors = [table.c[c].type._cached_bind_processor(dialect) for c in columns]
        sql = str(compiled)
        batch: list[Sequence[Any]] = []
        written = 0
        for row in rows:
            batch.append(
                tuple(v if p is None else p(v) for p, v in zip(processors, row, strict=True))
            )
            if len(batch) >= self.batch_size:
                self.conn.exec_driver_sql(sql, batch)
                written += len(batch)
                self.progress(table.name, len(batch))
                batch = []
        if batch:
            self.conn.exec_driver_sql(sql, batch)
            written += len(batch)
            self.progress(table.name, len(batch))
        return written

    def _batch_dicts(
        self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> int:
        stmt = insert(table)
        batch: list[dict[str, Any]] = []
        written = 0
        for row in rows:
            batch.append(dict(zip(columns, row, strict=True)))
            if len(batch) >= self.batch_size:
                self.conn.execute(stmt, batch)
                written += len(batch)
                self.progress(table.name, len(batch))
                batch = []
        if batch:
            self.conn.execute(stmt, batch)
            written += len(batch)
            self.progress(table.name, len(batch))
        return written


@dataclass(frozen=True)
class BulkSeedSummary:
    created: dict[str, int]


def bulk_seed(
    n_users: int,
    engine: Engine | Connection | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressFn | None = None,
) -> BulkSeedSummary:
    """Create the missing part of the seed data set for ``n_users`` (one transaction).

    Without ``engine`` it runs on the direct URL, not the (possibly pooled) application URL.
    """
    plan = BulkPlan.for_users(n_users)
    created: dict[str, int] = {}
    tables = metadata.tables
    # COPY never goes through PgBouncer: default to the direct URL (DATABASE_DIRECT_URL).
    with unit_of_work(bind=engine if engine is not None else get_direct_engine()) as session:
        conn = session.connection()
        w = _Writer(conn, batch_size, progress)
        new_numbers = _write_users(w, n_users)
        created["users"] = len(new_numbers)
        user_ids = dict(
            conn.execute(select(User.email, User.id).where(User.email.like(f"%@{SEED_DOMAIN}")))
            .tuples()
            .all()
        )
        authors = [user_ids[seed_email(n)] for n in range(0, n_users, USERS_PER_AUTHOR)]

        titles = set(
            conn.execute(
                select(Assessment.title).where(Assessment.title.like(f"{SEED_TITLE_PREFIX}%"))
            ).scalars()
        )
        new_titles = [
            f"{SEED_TITLE_PREFIX}{k}"
            for k in range(plan.assessments)
            if f"{SEED_TITLE_PREFIX}{k}" not in titles
        ]
        created["assessments"] = w.write(
            tables["assessments"],
            [
                "author_id",
                "title",
                "description",
                "status",
                "pass_percent",
                "created_at",
                "updated_at",
                "published_at",
            ],
            (
                (
                    authors[i % len(authors)],
                    title,
                    "Generated for load tests.",
                    AssessmentStatus.PUBLISHED.value,
                    60.0,
                    BASE_TIME,
                    BASE_TIME,
                    BASE_TIME,
                )
                for i, title in enumerate(new_titles)
            ),
        )
        new_assessment_ids = (
            list(
                conn.execute(
                    select(Assessment.id)
                    .where(Assessment.title.in_(new_titles))
                    .order_by(Assessment.id)
                ).scalars()
            )
            if new_titles
            else []
        )
        created["questions"] = w.write(
            tables["questions"],
            [
                "assessment_id",
                "position",
                "kind",
                "prompt",
                "points",
                "numeric_answer",
                "numeric_tolerance",
                "reference_answer",
                "rubric_keywords",
            ],
            _questions(new_assessment_ids),
        )
        questions = (
            conn.execute(
                select(Question.id, Question.assessment_id, Question.kind, Question.position)
                .join(Assessment, Assessment.id == Question.assessment_id)
                .where(Assessment.title.like(f"{SEED_TITLE_PREFIX}%"))
                .order_by(Question.assessment_id, Question.position)
            )
            .tuples()
            .all()
        )
        new_set = set(new_assessment_ids)
        created["answer_options"] = w.write(
            tables["answer_options"],
            ["question_id", "position", "text", "is_correct"],
            (
                (qid, p, f"Option {p}", p == 1 or (kind == QuestionKind.MULTIPLE_CHOICE and p == 2))
                for qid, aid, kind, _pos in questions
                if aid in new_set
                and kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)
                for p in range(1, OPTIONS_PER_CHOICE + 1)
            ),
        )
        by_assessment: dict[int, list[tuple[int, str]]] = {}
        for qid, aid, kind, _pos in questions:
            by_assessment.setdefault(aid, []).append((qid, kind))
        options: dict[int, list[int]] = {}
        for oid, qid in conn.execute(
            select(AnswerOption.id, AnswerOption.question_id)
            .where(AnswerOption.question_id.in_([q[0] for q in questions]))
            .order_by(AnswerOption.id)
        ).tuples():
            options.setdefault(qid, []).append(oid)
        assessment_ids = sorted(by_assessment)

        before = conn.execute(select(_max_id("attempts"))).scalar() or 0
        attempt_user = [
            (user_ids[seed_email(n)], assessment_ids[n % len(assessment_ids)]) for n in new_numbers
        ]
        created["attempts"] = w.write(
            tables["attempts"],
            ["assessment_id", "user_id", "status", "started_at", "submitted_at"],
            (
                (aid, uid, AttemptStatus.GRADED.value, BASE_TIME, BASE_TIME + timedelta(minutes=10))
                for uid, aid in attempt_user
            ),
        )
        attempts = (
            conn.execute(
                select(
                    tables["attempts"].c.id,
                    tables["attempts"].c.user_id,
                    tables["attempts"].c.assessment_id,
                )
                .where(tables["attempts"].c.id > before)
                .order_by(tables["attempts"].c.id)
            )
            .tuples()
            .all()
        )
        created["responses"] = w.write(
            tables["responses"],
            [
                "attempt_id",
                "question_id",
                "selected_option_ids",
                "numeric_value",
                "text_value",
                "is_correct",
                "score",
                "grading_status",
                "updated_at",
            ],
            _responses(attempts, by_assessment, options),
        )
        created["results"] = w.write(
            tables["results"],
            [
                "attempt_id",
                "user_id",
                "assessment_id",
                "score",
                "max_score",
                "percent",
                "passed",
                "created_at",
                "updated_at",
            ],
            (
                (att_id, uid, aid, s, 4.0, s * 25.0, s >= 2.4, BASE_TIME, BASE_TIME)
                for att_id, uid, aid in attempts
                for s in [float((att_id * 7) % 5)]
            ),
        )
    return BulkSeedSummary(created)


_USER_COLUMNS = (
    "email",
    "password_hash",
    "display_name",
    "role",
    "is_active",
    "created_at",
    "updated_at",
)


def _write_users(w: _Writer, n_users: int) -> list[int]:
    """Write the missing seed users; returns the numbers ``n`` of the users written."""
    existing = set(
        w.conn.execute(select(User.email).where(User.email.like(f"%@{SEED_DOMAIN}"))).scalars()
    )
    new_numbers = [n for n in range(n_users) if seed_email(n) not in existing]
    pw = hash_password(SEED_PASSWORD)  # one Argon2 hash shared by every seed user
    written = w.write(
        metadata.tables["users"],
        _USER_COLUMNS,
        (
            (
                seed_email(n),
                pw,
                f"Seed User {n}",
                (Role.AUTHOR if n % USERS_PER_AUTHOR == 0 else Role.LEARNER).value,
                True,
                BASE_TIME,
                BASE_TIME,
            )
            for n in new_numbers
        ),
    )
    assert written == len(new_numbers)
    return new_numbers


def _max_id(table: str) -> Any:
    return func.max(metadata.tables[table].c.id)


def _questions(assessment_ids: Sequence[int]) -> Iterable[tuple[Any, ...]]:
    for aid in assessment_ids:
        position = 0
        for kind in KINDS:
            for k in range(QUESTIONS_PER_KIND):
                position += 1
                numeric = float(position * 3) if kind == QuestionKind.NUMERIC else None
                yield (
                    aid,
                    position,
                    kind,
                    f"Seed question {position} ({kind}, variant {k})",
                    1.0,
                    numeric,
                    0.0 if numeric is not None else None,
                    "A reference answer." if kind == QuestionKind.FREE_TEXT else None,
                    ["reference", "answer"] if kind == QuestionKind.FREE_TEXT else None,
                )


def _responses(
    attempts: Sequence[tuple[int, int, int]],
    by_assessment: dict[int, list[tuple[int, str]]],
    options: dict[int, list[int]],
) -> Iterable[tuple[Any, ...]]:
    for att_id, _uid, aid in attempts:
        seen: set[str] = set()
        for qid, kind in by_assessment[aid]:
            if kind in seen:  # one response per kind
                continue
            seen.add(kind)
            correct = (att_id + qid) % 3 != 0
            opts = options.get(qid, [])
            selected = [opts[0] if correct else opts[-1]] if opts else None
            numeric = 1.0 if kind == QuestionKind.NUMERIC else None
            text = "Seed answer." if kind == QuestionKind.FREE_TEXT else None
            status = (
                GradingStatus.PENDING
                if kind == QuestionKind.FREE_TEXT
                else GradingStatus.NOT_REQUIRED
            ).value
            yield (
                att_id,
                qid,
                selected,
                numeric,
                text,
                correct,
                1.0 if correct else 0.0,
                status,
                BASE_TIME,
            )


__all__ = ["SEED_DOMAIN", "SEED_PASSWORD", "BulkPlan", "BulkSeedSummary", "bulk_seed", "seed_email"]
