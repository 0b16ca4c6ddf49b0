"""An assessment's results as CSV for a spreadsheet or gradebook: one row per attempt, a column
per question, streamed from the database (repo_db.stream_rows) a batch at a time.

Encoding: UTF-8 with a byte-order mark. Excel on Windows opens a double-clicked .csv in the
machine's ANSI code page unless the file starts with a BOM, which turns "Zoë" into "ZoÃ«";
LibreOffice, Numbers and Google Sheets read the BOM as UTF-8 and drop it, and Python reads it
with ``encoding="utf-8-sig"``. Rows end in CRLF (RFC 4180).

CSV injection: a spreadsheet runs a cell that starts with ``= + - @`` (or a tab or CR, which
some strip first) as a formula, so such cells get a leading apostrophe, which spreadsheets show
as text. Learners choose their display names, so the learner columns are attacker-controlled.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, select
from sqlalchemy.orm import Session

from repo_db import stream_rows
from repo_db.models import Attempt, AttemptStatus, Question, Response, Result, User
from repo_domain.assessments import get_managed
from repo_domain.common import Actor, as_utc

#: Characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection list).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
#: Rows written to the CSV buffer before a chunk is handed to the HTTP response.
ROWS_PER_CHUNK = 500
FIXED_COLUMNS = (
    "attempt_id",
    "learner",
    "email",
    "status",
    "started_at_utc",
    "submitted_at_utc",
    "score",
    "max_score",
    "percent",
)


def safe_cell(value: object) -> str:
    """The cell as text, with a leading apostrophe where a spreadsheet would run a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def _number(value: float | None) -> str:
    return "" if value is None else f"{round(float(value), 4):g}"


def _when(value: datetime | None) -> str:
    return "" if value is None else as_utc(value).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True, slots=True)
class ResultsExport:
    """What a download needs before the first byte: the checked assessment and its columns."""

    assessment_id: int
    filename: str
    question_ids: list[int]
    header: list[str]

    def chunks(self, *, bind: Engine | None = None) -> Iterator[bytes]:
        """The CSV, UTF-8 with BOM, in chunks of ``ROWS_PER_CHUNK`` rows; reads on a connection
        of its own, so it can run after the request's unit of work has ended."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        buffer.write(BOM)
        writer.writerow([safe_cell(c) for c in self.header])
        rows = stream_rows(self._statement(), bind=bind)
        attempts = itertools.groupby(rows, key=lambda r: r.attempt_id)
        for written, (_, group) in enumerate(attempts, 1):
            writer.writerow(self._row(list(group)))
            if written % ROWS_PER_CHUNK == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")

    def _statement(self) -> Select[Any]:
        return (
            select(
                Attempt.id.label("attempt_id"),
                Attempt.status,
                Attempt.started_at,
                Attempt.submitted_at,
                User.display_name,
                User.email,
                Result.score.label("total"),
                Result.max_score,
                Result.percent,
                Response.question_id,
                Response.score,
            )
            .join(User, User.id == Attempt.user_id)
            .outerjoin(Result, Result.attempt_id == Attempt.id)
            .outerjoin(Response, Response.attempt_id == Attempt.id)
            .where(Attempt.assessment_id == self.assessment_id)
            .order_by(Attempt.id)
        )

    def _row(self, group: Sequence[Any]) -> list[str]:
        first = group[0]
        scores = {r.question_id: r.score for r in group if r.question_id is not None}
        submitted = first.status != AttemptStatus.IN_PROGRESS
        cells: list[object] = [
            first.attempt_id,
            first.display_name,
            first.email,
            first.status,
            _when(first.started_at),
            _when(first.submitted_at),
            _number(first.total),
            _number(first.max_score),
            _number(first.percent),
        ]
        for question_id in self.question_ids:
            if question_id in scores:
                # None: a free-text answer awaiting its grade (blank, not 0).
                cells.append(_number(scores[question_id]))
            else:
                # Unanswered scores 0 once submitted; an attempt in progress has no score yet.
                cells.append("0" if submitted else "")
        return [safe_cell(c) for c in cells]


def results_export(session: Session, *, actor: Actor, assessment_id: int) -> ResultsExport:
    """The owning author or an admin (as for the statistics); others get 403 or 404."""
    assessment = get_managed(session, actor=actor, assessment_id=assessment_id)
    questions = session.execute(
        select(Question.id, Question.points)
        .where(Question.assessment_id == assessment.id)
        .order_by(Question.position)
    ).all()
    header = [*FIXED_COLUMNS, *(f"Q{n} ({q.points:g} pts)" for n, q in enumerate(questions, 1))]
    return ResultsExport(
        assessment_id=assessment.id,
        filename=f"assessment-{assessment.id}-results.csv",
        question_ids=[q.id for q in questions],
        header=header,
    )


__all__ = [
    "BOM",
    "FIXED_COLUMNS",
    "FORMULA_PREFIXES",
    "ROWS_PER_CHUNK",
    "ResultsExport",
    "results_export",
    "safe_cell",
]
