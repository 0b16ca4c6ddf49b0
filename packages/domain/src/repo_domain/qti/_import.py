"""An uploaded item file or content package to a title and a report per item."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from lxml import etree

from repo_db.models import QuestionKind
from repo_domain.errors import InvalidInput
from repo_domain.qti._parse import (
    ParsedItem,
    attr,
    check_item_root,
    children,
    descendants,
    flatten,
    local,
    parse_item,
)
from repo_domain.qti._safety import (
    Package,
    check_upload_size,
    is_zip,
    parse_xml,
    read_package,
    safe_member_path,
)
from repo_domain.qti._settings import AssessmentSettings, read_settings
from repo_domain.questions import QuestionSpec
from repo_domain.validation import (
    DESCRIPTION_MAX,
    QUESTIONS_MAX,
    TIME_LIMIT_SECONDS_MAX,
    TIME_LIMIT_SECONDS_MIN,
    TITLE_MAX,
)

MANIFEST = "imsmanifest.xml"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"


@dataclass(slots=True)
class ItemReport:
    """One item of the upload: `spec` (validated) when imported, else `message` says why not."""

    source: str
    identifier: str
    title: str
    spec: QuestionSpec | None = None
    message: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def imported(self) -> bool:
        return self.spec is not None

    @property
    def kind(self) -> QuestionKind | None:
        return QuestionKind(self.spec.kind) if self.spec is not None else None


@dataclass(slots=True)
class Import:
    title: str
    description: str
    items: list[ItemReport]
    #: The test's `timeLimits maxTime`, when it is one the platform accepts.
    time_limit_seconds: int | None = None
    #: The platform's own settings from the manifest (a package it exported), else None.
    settings: AssessmentSettings | None = None

    @property
    def specs(self) -> list[QuestionSpec]:
        return [item.spec for item in self.items if item.spec is not None]


def read_upload(filename: str, data: bytes) -> Import:
    """Read one uploaded file; `InvalidInput` when the file as a whole is refused."""
    check_upload_size(data)
    stem = posixpath.splitext(posixpath.basename(filename.replace("\\", "/")))[0] or "Imported"
    if is_zip(data):
        result = _read_package(read_package(data), fallback_title=stem)
    else:
        name = posixpath.basename(filename.replace("\\", "/")) or "the file"
        root = parse_xml(data, name=name)
        check_item_root(root, name=name)
        report = _report(parse_item(root, name=stem), source=name)
        result = Import(title=report.title or stem, description="", items=[report])
    if not result.items:
        raise InvalidInput(
            "the package lists no QTI assessment items", code="no_items", field="file"
        )
    _limit_count(result.items)
    # A title is one line (repo_domain.validation): line breaks and tabs in an attribute become
    # spaces rather than a refusal of the whole file.
    title = re.sub(r"[\t\n\r\f\v]+", " ", result.title)[:TITLE_MAX].strip()
    result.title = title or re.sub(r"\s+", " ", stem)[:TITLE_MAX].strip() or "Imported"
    result.description = result.description[:DESCRIPTION_MAX].strip()
    return result


def _report(parsed: ParsedItem, *, source: str) -> ItemReport:
    report = ItemReport(
        source=source, identifier=parsed.identifier, title=parsed.title, notes=parsed.notes
    )
    if parsed.spec is None:
        report.message = parsed.problem
        return report
    try:
        report.spec = parsed.spec.validated()
    except InvalidInput as exc:
        report.message = f"{exc.message} in item {parsed.identifier}"
    return report


def _limit_count(items: list[ItemReport]) -> None:
    imported = 0
    for item in items:
        if item.spec is None:
            continue
        imported += 1
        if imported > QUESTIONS_MAX:
            item.spec = None
            item.message = (
                f"an assessment holds at most {QUESTIONS_MAX} questions: "
                f"item {item.identifier} left out"
            )


def _find_manifest(package: Package) -> str | None:
    if MANIFEST in package.files:
        return MANIFEST
    nested = [path for path in package.files if path.endswith("/" + MANIFEST)]
    return min(nested, key=lambda p: p.count("/")) if nested else None


def _resolve(base: str, href: str) -> str:
    """A manifest's or test's href (a relative URL: %20 for a space) as a path in the package."""
    path = unquote(urlsplit(href.strip()).path)
    return safe_member_path(posixpath.join(base, path))


def _read_package(package: Package, *, fallback_title: str) -> Import:
    manifest_path = _find_manifest(package)
    if manifest_path is None:
        return _read_loose_items(package, fallback_title=fallback_title)
    manifest = parse_xml(package.files[manifest_path], name=manifest_path)
    if local(manifest) != "manifest":
        raise InvalidInput(
            f"{manifest_path} is not a content package manifest", code="bad_manifest", field="file"
        )
    base = posixpath.dirname(manifest_path)
    item_paths: list[tuple[str, str]] = []  # (path, resource type)
    test_paths: list[str] = []
    for resources in children(manifest, "resources"):
        resources_base = (
            _resolve(base, resources.get(_XML_BASE, "")) if resources.get(_XML_BASE) else base
        )
        for resource in children(resources, "resource"):
            kind = (resource.get("type") or "").lower()
            href = resource.get("href") or ""
            if not href:
                files = children(resource, "file")
                href = (files[0].get("href") or "") if files else ""
            resource_base = resources_base
            if resource.get(_XML_BASE):
                resource_base = _resolve(resources_base, resource.get(_XML_BASE, ""))
            if not href or "imsqti" not in kind:
                continue
            path = _resolve(resource_base, href)
            if "test" in kind:
                test_paths.append(path)
            else:
                item_paths.append((path, kind))
    title, description, ordered = fallback_title, "", [path for path, _ in item_paths]
    time_limit = None
    for test_path in test_paths[:1]:
        if test_path in package.files:
            title, description, ordered, time_limit = _read_test(package, test_path, ordered, title)
    kinds = dict(item_paths)
    items = [_package_item(package, path, kinds.get(path, "")) for path in ordered]
    if not test_paths and len(items) == 1 and items[0].title:
        title = items[0].title
    return Import(
        title=title,
        description=description,
        items=items,
        time_limit_seconds=time_limit,
        settings=read_settings(manifest),
    )


def _read_test(
    package: Package, path: str, listed: list[str], title: str
) -> tuple[str, str, list[str], int | None]:
    """The test's title, its instructions, the items in its order (then any it leaves out),
    and its time limit."""
    test = parse_xml(package.files[path], name=path)
    if local(test) != "assessmentTest":
        return title, "", listed, None
    base = posixpath.dirname(path)
    referenced = [
        _resolve(base, ref.get("href") or "")
        for ref in descendants(test, "assessmentItemRef")
        if ref.get("href")
    ]
    order = list(dict.fromkeys([*referenced, *listed]))
    instructions = [
        flatten(rubric)
        for rubric in descendants(test, "rubricBlock")
        if "candidate" in (attr(rubric, "view") or "candidate")
    ]
    description = "\n\n".join(i for i in instructions if i)
    return attr(test, "title") or title, description, order, _time_limit(test)


def _time_limit(test: etree._Element) -> int | None:
    """The whole test's maxTime (seconds), or its only part's; None when out of the platform's
    range (the author sets one) rather than a refusal of the file."""
    holders = [test, *children(test, "testPart")[:1]]
    for holder in holders:
        for limits in children(holder, "timeLimits"):
            seconds = _seconds(attr(limits, "maxTime"))
            if seconds is not None:
                return seconds
    return None


def _seconds(value: str | None) -> int | None:
    try:
        seconds = round(float(value or ""))
    except (ValueError, OverflowError):
        return None
    return seconds if TIME_LIMIT_SECONDS_MIN <= seconds <= TIME_LIMIT_SECONDS_MAX else None


def _package_item(package: Package, path: str, kind: str) -> ItemReport:
    if kind and "v1p" in kind:
        return ItemReport(
            source=path,
            identifier=path,
            title=path,
            message=f"QTI 1.x items are not supported: item {path}",
        )
    if path not in package.files:
        return ItemReport(
            source=path,
            identifier=path,
            title=path,
            message=f"the manifest lists {path}, which the package does not hold",
        )
    root = parse_xml(package.files[path], name=path)
    check_item_root(root, name=path)
    stem = posixpath.splitext(posixpath.basename(path))[0]
    return _report(parse_item(root, name=stem), source=path)


def _read_loose_items(package: Package, *, fallback_title: str) -> Import:
    """A zip without a manifest: every XML file that is a QTI item, in path order."""
    items = []
    for path in sorted(package.files):
        # macOS's zip tool adds AppleDouble files (__MACOSX/, ._name): metadata, not XML.
        hidden = path.startswith("__MACOSX/") or posixpath.basename(path).startswith("._")
        if hidden or not path.lower().endswith(".xml"):
            continue
        root = parse_xml(package.files[path], name=path)
        if local(root) == "assessmentItem":
            check_item_root(root, name=path)
            stem = posixpath.splitext(posixpath.basename(path))[0]
            items.append(_report(parse_item(root, name=stem), source=path))
    return Import(title=fallback_title, description="", items=items)


__all__ = ["Import", "ItemReport", "read_upload"]
