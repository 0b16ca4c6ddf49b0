"""Small helpers to read and validate submitted forms, keeping errors per field."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.datastructures import FormData

# ASCII only: int() and fromisoformat() would also take "1_000", Arabic-Indic digits, offsets.
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_DATETIME_LOCAL = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
)


@dataclass
class Form:
    data: FormData
    errors: dict[str, str] = field(default_factory=dict)

    def text(self, name: str, *, required: bool = False, max_length: int = 10_000) -> str:
        value = self.data.get(name)
        text = value.strip() if isinstance(value, str) else ""
        if required and not text:
            self.errors[name] = "This field is required."
        elif len(text) > max_length:
            self.errors[name] = f"At most {max_length} characters."
        return text[:max_length]

    def raw(self, name: str) -> str:
        """The submitted text as it came (empty when absent): for values the domain checks,
        so that its limits, not a truncation here, decide."""
        value = self.data.get(name)
        return value if isinstance(value, str) else ""

    def number(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> float | None:
        raw = self.text(name, required=required, max_length=64)
        if not raw or name in self.errors:
            return None
        try:
            value = float(raw)
        except ValueError:
            self.errors[name] = "Enter a number, for example 42 or 2.5."
            return None
        if not math.isfinite(value):
            self.errors[name] = "Enter a finite number."
            return None
        if minimum is not None and value < minimum:
            self.errors[name] = f"Must be at least {minimum:g}."
        elif maximum is not None and value > maximum:
            self.errors[name] = f"Must be at most {maximum:g}."
        return value

    def whole_number(self, name: str) -> int | None:
        """An integer (None when empty); its range is for the caller's domain to judge."""
        raw = self.text(name, max_length=64)
        if not raw or name in self.errors:
            return None
        if not _WHOLE_NUMBER.fullmatch(raw):
            self.errors[name] = "Enter a whole number, for example 3."
            return None
        return int(raw)

    def utc_datetime(self, name: str) -> datetime | None:
        """An `<input type="datetime-local">` value read as UTC (None when empty)."""
        raw = self.text(name, max_length=64)
        if not raw or name in self.errors:
            return None
        try:
            if not _DATETIME_LOCAL.fullmatch(raw):
                raise ValueError(raw)
            return datetime.fromisoformat(raw).replace(tzinfo=UTC)
        except ValueError:
            self.errors[name] = "Enter a date and time, for example 2030-01-31T17:00."
            return None

    def present(self, name: str) -> bool:
        """Was the field sent at all (an empty field is sent; a missing one is not)?"""
        return name in self.data

    def ints(self, name: str) -> list[int]:
        out = []
        for value in self.data.getlist(name):
            if isinstance(value, str) and value.isdigit() and len(value) < 19:
                out.append(int(value))
        return out

    def checked(self, name: str) -> bool:
        return self.data.get(name) in ("on", "1", "true", "yes")

    @property
    def ok(self) -> bool:
        return not self.errors

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in self.data.items() if isinstance(v, str) and k != "csrf_token"}


async def read_form(request: Request) -> Form:
    return Form(await request.form())


def safe_next(target: str | None, default: str = "/dashboard") -> str:
    """Only same-site paths: never redirect to another host after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
