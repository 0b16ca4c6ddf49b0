"""The input rules every domain command applies, whichever adapter called it.

One set of limits (change a number here and the API and the web UI both follow) and one check
for text a database cannot store or a page should not carry: NUL (PostgreSQL refuses it in
text), other control characters, and lone surrogates (UTF-8 cannot encode them). Every checker
raises `InvalidInput` naming the field, so the API answers 422 and the web shows a form error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from repo_domain.errors import InvalidInput

#: Largest id accepted from clients: fits BIGINT and JavaScript numbers, so no overflow errors.
MAX_ID = 2**53 - 1

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
PROMPT_MAX = 10_000
OPTION_TEXT_MAX = 2_000
REFERENCE_ANSWER_MAX = 10_000
RUBRIC_KEYWORD_MAX = 200
RUBRIC_KEYWORDS_MAX = 50
OPTIONS_MIN = 2
OPTIONS_MAX = 20
QUESTIONS_MAX = 200
POINTS_MIN = 0.01
POINTS_MAX = 1000.0
#: Numeric answers, tolerances and numeric responses stay within +-1e15 (exact in a float).
NUMBER_MAX = 1e15
TIME_LIMIT_SECONDS_MIN = 10
TIME_LIMIT_SECONDS_MAX = 7 * 24 * 3600
MAX_ATTEMPTS_MAX = 1000
TARGET_SE_MAX = 2.0
#: Adaptive test lengths: 1 to the most questions an assessment can hold.
ADAPTIVE_LENGTH_MAX = QUESTIONS_MAX
#: Maximum exposure rate of an adaptive test's questions (1: no exposure control). Under 0.05 the
#: exposure fit's safety margin (repo_domain.cat.fit_target) would leave almost nothing.
MAX_EXPOSURE_MIN = 0.05
MAX_EXPOSURE_MAX = 1.0
TEXT_ANSWER_MAX = 20_000
DISPLAY_NAME_MAX = 100
SEARCH_QUERY_MAX = 100
REVIEW_COMMENT_MAX = 5_000

# C0 controls but tab, line feed and carriage return; DEL; C1 controls; lone surrogates.
_FORBIDDEN_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def text(
    value: str | None,
    *,
    field: str,
    max_length: int,
    required: bool = False,
    multiline: bool = False,
) -> str:
    """`value` without surrounding white space, checked: length, storable characters.

    None counts as empty. Single-line fields (titles, names, keywords) refuse line breaks too.
    """
    cleaned = (value or "").strip()
    forbidden = _FORBIDDEN_MULTILINE if multiline else _FORBIDDEN_SINGLE_LINE
    if forbidden.search(cleaned):
        what = "control characters" if multiline else "control characters or line breaks"
        raise InvalidInput(f"{field} must not contain {what}", code="invalid_text", field=field)
    if required and not cleaned:
        raise InvalidInput(f"{field} is required", code="required", field=field)
    if len(cleaned) > max_length:
        raise InvalidInput(
            f"{field} has at most {max_length:,} characters", code="too_long", field=field
        )
    return cleaned


def optional_text(
    value: str | None, *, field: str, max_length: int, multiline: bool = False
) -> str | None:
    """Like `text`, but an empty value becomes None."""
    cleaned = text(value, field=field, max_length=max_length, multiline=multiline)
    return cleaned or None


def number(
    value: float,
    *,
    field: str,
    minimum: float,
    maximum: float,
) -> float:
    """A finite number within [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{field} must be a finite number", code="not_a_number", field=field)
    # No math.isfinite on ints: a huge int (10**400) would raise OverflowError converting.
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{field} must be a finite number", code="not_a_number", field=field)
    if not minimum <= value <= maximum:
        raise InvalidInput(
            f"{field} must be between {minimum:g} and {maximum:g}", code="out_of_range", field=field
        )
    return float(value)


def integer(value: float, *, field: str, minimum: int, maximum: int) -> int:
    """A whole number within [minimum, maximum] (floats with a fractional part are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{field} must be a whole number", code="not_a_number", field=field)
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise InvalidInput(f"{field} must be a whole number", code="not_a_number", field=field)
    if not minimum <= value <= maximum:
        raise InvalidInput(
            f"{field} must be between {minimum:,} and {maximum:,}", code="out_of_range", field=field
        )
    return int(value)


def identifier(value: int, *, field: str = "id") -> int:
    """A database id a client may send: 1 .. MAX_ID."""
    return integer(value, field=field, minimum=1, maximum=MAX_ID)


def count_at_most(items: Sequence[object], *, field: str, maximum: int) -> None:
    if len(items) > maximum:
        raise InvalidInput(f"{field} has at most {maximum} entries", code="too_many", field=field)


__all__ = [
    "ADAPTIVE_LENGTH_MAX",
    "DESCRIPTION_MAX",
    "DISPLAY_NAME_MAX",
    "MAX_ATTEMPTS_MAX",
    "MAX_EXPOSURE_MAX",
    "MAX_EXPOSURE_MIN",
    "MAX_ID",
    "NUMBER_MAX",
    "OPTIONS_MAX",
    "OPTIONS_MIN",
    "OPTION_TEXT_MAX",
    "POINTS_MAX",
    "POINTS_MIN",
    "PROMPT_MAX",
    "QUESTIONS_MAX",
    "REFERENCE_ANSWER_MAX",
    "REVIEW_COMMENT_MAX",
    "RUBRIC_KEYWORDS_MAX",
    "RUBRIC_KEYWORD_MAX",
    "SEARCH_QUERY_MAX",
    "TARGET_SE_MAX",
    "TEXT_ANSWER_MAX",
    "TIME_LIMIT_SECONDS_MAX",
    "TIME_LIMIT_SECONDS_MIN",
    "TITLE_MAX",
    "count_at_most",
    "identifier",
    "integer",
    "number",
    "optional_text",
    "text",
]
