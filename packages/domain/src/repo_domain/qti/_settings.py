"""An assessment's own settings in a QTI 3.0 content package, and back.

QTI has a standard place for the time limit (`qti-time-limits`, written by the test) but none for
a pass mark, an attempt policy (attempts, answer visibility, closing time) or an adaptive
stopping rule. Those go into the manifest's
`<metadata>` as one element of the platform's own namespace (IMS Content Packaging lets
metadata hold elements of other namespaces, and readers that do not know them skip them):

    <metadata>
      <schema>QTI Package</schema> <schemaversion>3.0.0</schemaversion>
      <s:assessment-settings xmlns:s="urn:x-repo-assessment:qti-settings:1">
        <s:pass-percent>60.0</s:pass-percent>
        <s:max-attempts>3</s:max-attempts>            (absent: unlimited)
        <s:show-answers>after_close</s:show-answers>
        <s:closes-at>2026-12-31T12:00:00+00:00</s:closes-at>      (absent: never closes)
        <s:adaptive enabled="true" target-se="0.3" min-length="5" max-length="20"
                    max-exposure="0.5"/>
      </s:assessment-settings>
    </metadata>

(`s:adaptive` for an adaptive assessment or one with adaptive limits set; its attributes only
for the limits that are set.)
The values are read as written and checked by `repo_domain.assessments.create_assessment`, as
any author's input; a value that is not a number where one belongs refuses the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from repo_domain.errors import InvalidInput

NS_SETTINGS = "urn:x-repo-assessment:qti-settings:1"


@dataclass(frozen=True, slots=True)
class AssessmentSettings:
    """What an assessment carries besides its questions, title and time limit."""

    pass_percent: float | None = None  # None: not in the package (the importer's default)
    max_attempts: int | None = None  # None: unlimited
    show_answers: str | None = None  # None: not in the package (the domain's default)
    closes_at: datetime | None = None  # None: never closes
    adaptive: bool = False
    adaptive_target_se: float | None = None
    adaptive_min_length: int | None = None
    adaptive_max_length: int | None = None
    adaptive_max_exposure: float | None = None


_ADAPTIVE_ATTRIBUTES = (
    ("target-se", "adaptive_target_se", float),
    ("min-length", "adaptive_min_length", int),
    ("max-length", "adaptive_max_length", int),
    ("max-exposure", "adaptive_max_exposure", float),
)


def _s(name: str) -> str:
    return f"{{{NS_SETTINGS}}}{name}"


def settings_element(settings: AssessmentSettings) -> etree._Element:
    """The `s:assessment-settings` element for a manifest's metadata."""
    root = etree.Element(_s("assessment-settings"), nsmap={"s": NS_SETTINGS})
    if settings.pass_percent is not None:
        etree.SubElement(root, _s("pass-percent")).text = repr(float(settings.pass_percent))
    if settings.max_attempts is not None:
        etree.SubElement(root, _s("max-attempts")).text = str(settings.max_attempts)
    if settings.show_answers is not None:
        etree.SubElement(root, _s("show-answers")).text = str(settings.show_answers)
    if settings.closes_at is not None:
        etree.SubElement(root, _s("closes-at")).text = settings.closes_at.isoformat()
    limits = [getattr(settings, name) for _, name, _ in _ADAPTIVE_ATTRIBUTES]
    if settings.adaptive or any(value is not None for value in limits):
        adaptive = etree.SubElement(
            root, _s("adaptive"), enabled="true" if settings.adaptive else "false"
        )
        for attribute, name, kind in _ADAPTIVE_ATTRIBUTES:
            value = getattr(settings, name)
            if value is not None:
                adaptive.set(attribute, repr(kind(value)))
    return root


def _number(text: str | None, kind: type[int] | type[float], *, setting: str) -> int | float:
    try:
        return kind((text or "").strip())
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"the package's {setting} setting is not a number: {(text or '')[:40]!r}",
            code="bad_settings",
            field="file",
        ) from None


def _flag(text: str | None) -> bool:
    value = (text or "true").strip()
    if value not in ("true", "false"):
        raise InvalidInput(
            f"the package's adaptive setting is not true or false: {value[:40]!r}",
            code="bad_settings",
            field="file",
        )
    return value == "true"


def _moment(text: str | None) -> datetime:
    try:
        return datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise InvalidInput(
            f"the package's closes-at setting is not a date and time: {(text or '')[:40]!r}",
            code="bad_settings",
            field="file",
        ) from None


def read_settings(manifest: etree._Element) -> AssessmentSettings | None:
    """The settings in a manifest's metadata, or None when it holds none (another system's)."""
    found = manifest.find(f"{{*}}metadata/{_s('assessment-settings')}")
    if found is None:
        return None
    pass_percent = found.find(_s("pass-percent"))
    max_attempts = found.find(_s("max-attempts"))
    show_answers = found.find(_s("show-answers"))
    closes_at = found.find(_s("closes-at"))
    adaptive = found.find(_s("adaptive"))
    limits: dict[str, int | float] = {}
    if adaptive is not None:
        for attribute, name, kind in _ADAPTIVE_ATTRIBUTES:
            if adaptive.get(attribute) is not None:
                limits[name] = _number(adaptive.get(attribute), kind, setting=attribute)
    return AssessmentSettings(
        pass_percent=(
            float(_number(pass_percent.text, float, setting="pass-percent"))
            if pass_percent is not None
            else None
        ),
        max_attempts=(
            int(_number(max_attempts.text, int, setting="max-attempts"))
            if max_attempts is not None
            else None
        ),
        show_answers=(show_answers.text or "").strip() if show_answers is not None else None,
        closes_at=_moment(closes_at.text) if closes_at is not None else None,
        adaptive=adaptive is not None and _flag(adaptive.get("enabled")),
        **limits,  # type: ignore[arg-type]
    )


__all__ = ["NS_SETTINGS", "AssessmentSettings", "read_settings", "settings_element"]
