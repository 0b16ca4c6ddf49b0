"""Question specs to QTI 3.0 items, and an assessment to a QTI 3.0 content package.

What a question holds that QTI has no plain element for is written where QTI readers look:
points as SCORE's `normal-maximum` and the value response processing sets on a correct answer,
a numeric tolerance as `qti-equal`'s absolute tolerance, a free-text model answer as the
correct response and its rubric keywords as a list in a scorer's rubric block. The time limit is
the test's `qti-time-limits`; the other settings (pass mark, attempts, answer visibility,
adaptive rule) are namespaced metadata in the manifest (`repo_domain.qti._settings`).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

from lxml import etree

from repo_db.models import QuestionKind
from repo_domain.qti._parse import NS_QTI30, flatten
from repo_domain.qti._settings import AssessmentSettings, settings_element
from repo_domain.questions import QuestionSpec

NS_CP = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_SCHEMA = f"{NS_QTI30} https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd"
_CP_SCHEMA = (
    f"{NS_CP} https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqtiv3p0_imscpv1p2_v1p0.xsd"
)


# lxml spells the default namespace as the nsmap key None, which lxml-stubs does not allow.


def _q(name: str) -> str:
    return f"{{{NS_QTI30}}}{name}"


def _sub(
    parent: etree._Element, name: str, text: str | None = None, **attrs: str
) -> etree._Element:
    element = etree.SubElement(parent, _q(name), {k.replace("_", "-"): v for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def _number(value: float) -> str:
    return repr(float(value))


def write_text(parent: etree._Element, text: str) -> None:
    """`text` as HTML that `flatten` reads back unchanged: a paragraph per blank-line-separated
    block and `<br/>` per line break when that is exact, else one `<pre>` holding it as is."""
    holder = etree.Element(_q("div"))
    for block in text.split("\n\n"):
        paragraph = _sub(holder, "p")
        lines = block.split("\n")
        paragraph.text = lines[0]
        for line in lines[1:]:
            _sub(paragraph, "br").tail = line
    if flatten(holder) == text:
        parent.extend(list(holder))
    else:
        _sub(parent, "pre", text)


def item_xml(spec: QuestionSpec, *, identifier: str, title: str) -> bytes:
    """A validated spec as a QTI 3.0 assessment item."""
    kind = QuestionKind(spec.kind)
    root = etree.Element(
        _q("qti-assessment-item"),
        {
            f"{{{_XSI}}}schemaLocation": _SCHEMA,
            "identifier": identifier,
            "title": title,
            "adaptive": "false",
            "time-dependent": "false",
        },
        nsmap={None: NS_QTI30, "xsi": _XSI},  # type: ignore[dict-item]
    )
    choice = kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)
    if choice:
        base_type = "identifier"
    elif kind == QuestionKind.NUMERIC:
        base_type = "float"
    else:
        base_type = "string"
    cardinality = "multiple" if kind == QuestionKind.MULTIPLE_CHOICE else "single"
    declaration = _sub(
        root,
        "qti-response-declaration",
        identifier="RESPONSE",
        cardinality=cardinality,
        base_type=base_type,
    )
    correct: list[str] = []
    if choice:
        correct = [f"choice_{i + 1}" for i, o in enumerate(spec.options) if o.is_correct]
    elif kind == QuestionKind.NUMERIC and spec.numeric_answer is not None:
        correct = [_number(spec.numeric_answer)]
    elif spec.reference_answer:
        correct = [spec.reference_answer]
    if correct:
        holder = _sub(declaration, "qti-correct-response")
        for value in correct:
            _sub(holder, "qti-value", value)
    _sub(
        root,
        "qti-outcome-declaration",
        identifier="SCORE",
        cardinality="single",
        base_type="float",
        normal_maximum=_number(spec.points),
    )
    body = _sub(root, "qti-item-body")
    if kind == QuestionKind.FREE_TEXT and spec.rubric_keywords:
        rubric = _sub(body, "qti-rubric-block", use="scoring", view="scorer")
        content = _sub(rubric, "qti-content-body")
        _sub(content, "p", "Key ideas (alternatives separated by |):")
        keywords = _sub(content, "ul")
        for keyword in spec.rubric_keywords:
            _sub(keywords, "li", keyword)
    if choice:
        interaction = _sub(
            body,
            "qti-choice-interaction",
            response_identifier="RESPONSE",
            shuffle="false",
            max_choices="1" if cardinality == "single" else "0",
        )
        prompt = _sub(interaction, "qti-prompt")
        write_text(prompt, spec.prompt)
        for i, option in enumerate(spec.options):
            simple = _sub(interaction, "qti-simple-choice", identifier=f"choice_{i + 1}")
            write_text(simple, option.text)
    elif kind == QuestionKind.NUMERIC:
        write_text(body, spec.prompt)
        paragraph = _sub(body, "p")
        _sub(paragraph, "qti-text-entry-interaction", response_identifier="RESPONSE")
    else:
        interaction = _sub(body, "qti-extended-text-interaction", response_identifier="RESPONSE")
        prompt = _sub(interaction, "qti-prompt")
        write_text(prompt, spec.prompt)
    _processing(root, spec, kind)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _processing(root: etree._Element, spec: QuestionSpec, kind: QuestionKind) -> None:
    """Full points for a correct answer, 0 otherwise (the platform's all-or-nothing scoring);
    free text is scored by a person or the grader, so it gets no processing."""
    if kind == QuestionKind.FREE_TEXT:
        return
    processing = _sub(root, "qti-response-processing")
    condition = _sub(processing, "qti-response-condition")
    when = _sub(condition, "qti-response-if")
    if kind == QuestionKind.NUMERIC and spec.numeric_tolerance is not None:
        tolerance = _number(spec.numeric_tolerance)
        test = _sub(
            when, "qti-equal", tolerance_mode="absolute", tolerance=f"{tolerance} {tolerance}"
        )
    else:
        test = _sub(when, "qti-match")
    _sub(test, "qti-variable", identifier="RESPONSE")
    _sub(test, "qti-correct", identifier="RESPONSE")
    setter = _sub(when, "qti-set-outcome-value", identifier="SCORE")
    _sub(setter, "qti-base-value", _number(spec.points), base_type="float")
    otherwise = _sub(
        _sub(condition, "qti-response-else"), "qti-set-outcome-value", identifier="SCORE"
    )
    _sub(otherwise, "qti-base-value", "0.0", base_type="float")


def test_xml(
    *, title: str, description: str, time_limit_seconds: int | None, item_ids: Sequence[str]
) -> bytes:
    root = etree.Element(
        _q("qti-assessment-test"),
        {f"{{{_XSI}}}schemaLocation": _SCHEMA, "identifier": "assessment", "title": title},
        nsmap={None: NS_QTI30, "xsi": _XSI},  # type: ignore[dict-item]
    )
    if time_limit_seconds is not None:
        _sub(root, "qti-time-limits", max_time=str(time_limit_seconds))
    part = _sub(
        root,
        "qti-test-part",
        identifier="part",
        navigation_mode="nonlinear",
        submission_mode="simultaneous",
    )
    section = _sub(
        part, "qti-assessment-section", identifier="section", title=title, visible="true"
    )
    if description:
        rubric = _sub(section, "qti-rubric-block", use="instructions", view="candidate")
        write_text(_sub(rubric, "qti-content-body"), description)
    for item_id in item_ids:
        _sub(section, "qti-assessment-item-ref", identifier=item_id, href=f"items/{item_id}.xml")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def manifest_xml(*, item_ids: Sequence[str], settings: AssessmentSettings | None = None) -> bytes:
    def cp(name: str) -> str:
        return f"{{{NS_CP}}}{name}"

    root = etree.Element(
        cp("manifest"),
        {f"{{{_XSI}}}schemaLocation": _CP_SCHEMA, "identifier": "manifest"},
        nsmap={None: NS_CP, "xsi": _XSI},  # type: ignore[dict-item]
    )
    metadata = etree.SubElement(root, cp("metadata"))
    etree.SubElement(metadata, cp("schema")).text = "QTI Package"
    etree.SubElement(metadata, cp("schemaversion")).text = "3.0.0"
    if settings is not None:
        metadata.append(settings_element(settings))
    etree.SubElement(root, cp("organizations"))
    resources = etree.SubElement(root, cp("resources"))
    test = etree.SubElement(
        resources,
        cp("resource"),
        identifier="assessment",
        type="imsqti_test_xmlv3p0",
        href="assessment.xml",
    )
    etree.SubElement(test, cp("file"), href="assessment.xml")
    for item_id in item_ids:
        etree.SubElement(test, cp("dependency"), identifierref=item_id)
    for item_id in item_ids:
        href = f"items/{item_id}.xml"
        resource = etree.SubElement(
            resources, cp("resource"), identifier=item_id, type="imsqti_item_xmlv3p0", href=href
        )
        etree.SubElement(resource, cp("file"), href=href)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_package(
    *,
    title: str,
    description: str,
    questions: Sequence[QuestionSpec],
    time_limit_seconds: int | None = None,
    settings: AssessmentSettings | None = None,
) -> bytes:
    """A QTI 3.0 content package (zip) of the assessment: manifest (with the `settings`, in
    the platform's namespace: `repo_domain.qti._settings`), test, one file per item."""
    item_ids = [f"item_{i + 1}" for i in range(len(questions))]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", manifest_xml(item_ids=item_ids, settings=settings))
        archive.writestr(
            "assessment.xml",
            test_xml(
                title=title,
                description=description,
                time_limit_seconds=time_limit_seconds,
                item_ids=item_ids,
            ),
        )
        for i, (item_id, spec) in enumerate(zip(item_ids, questions, strict=True)):
            archive.writestr(
                f"items/{item_id}.xml",
                item_xml(spec, identifier=item_id, title=f"{title} - question {i + 1}"),
            )
    return buffer.getvalue()
