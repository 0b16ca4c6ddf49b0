"""Small helpers to read and validate submitted forms, keeping errors per field."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.datastructures import FormData


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
