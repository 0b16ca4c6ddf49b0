"""QTI 2.x and 3.0 assessment items to question specs.

Both versions are read by one parser: QTI 3.0's names (``qti-choice-interaction``,
``response-identifier``) are mapped onto QTI 2.1's (``choiceInteraction``,
``responseIdentifier``) first. Liberal where files differ harmlessly (namespace prefixes,
white space, nested HTML, the standard response-processing templates or hand-written
conditions), strict about what decides a score: an item this platform cannot represent is
reported with the reason, never imported half-way.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

from repo_db.models import QuestionKind
from repo_domain.errors import InvalidInput
from repo_domain.questions import OptionSpec, QuestionSpec

NS_QTI21 = "http://www.imsglobal.org/xsd/imsqti_v2p1"
NS_QTI30 = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
#: Item namespaces accepted: 2.1 and 3.0, plus 2.0 and 2.2, which 2.1 readers commonly accept, and
#: the 2.0 item namespace Moodle's QTI 2 export writes.
QTI_NAMESPACES = frozenset(
    {
        "http://www.imsglobal.org/xsd/imsqti_v2p0",
        "http://www.imsglobal.org/xsd/imsqti_item_v2p0",
        NS_QTI21,
        "http://www.imsglobal.org/xsd/imsqti_v2p2",
        NS_QTI30,
    }
)

SUPPORTED_INTERACTIONS = frozenset(
    {"choiceInteraction", "textEntryInteraction", "extendedTextInteraction"}
)
#: Shown in an unsupported item's prompt position.
BLANK = "_____"

_BLOCKS = frozenset(
    {
        "p", "div", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt",
        "dd", "table", "tr", "blockquote", "address", "section", "article", "figure",
        "figcaption", "header", "footer", "aside", "nav", "prompt", "caption", "thead",
        "tbody", "tfoot", "hr",
    }
)  # fmt: skip
#: Body elements that are not the question: scorer rubrics, feedback, templates, styling.
_SKIPPED = frozenset(
    {
        "rubricBlock", "feedbackBlock", "feedbackInline", "modalFeedback", "templateBlock",
        "templateInline", "stylesheet", "printedVariable",
        "companionMaterialsInfo", "catalogInfo", "script", "style", "infoControl",
    }
)  # fmt: skip
_PARAGRAPHS = frozenset({"p", "pre", "div", "table", "blockquote", "prompt"})
_WS = re.compile(r"[ \t\n\r\f]+")
#: QTI's ``view`` values of a rubric block meant for graders, not candidates (QTI's own vocabulary,
#: not the platform's roles): their list items become rubric keywords.
SCORER_VIEWS = frozenset({"scorer", "author", "tutor"})


@functools.lru_cache(maxsize=1024)
def canonical(name: str) -> str:
    """A QTI 3.0 name in QTI 2.1 spelling: ``qti-choice-interaction`` -> ``choiceInteraction``."""
    if name.startswith("qti-"):
        name = name[4:]
    if "-" not in name:
        return name
    head, *rest = name.split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def local(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):  # a comment, processing instruction or entity
        return ""
    return canonical(tag.rpartition("}")[2])


def attr(element: etree._Element, name: str) -> str | None:
    """Attribute `name` (2.1 spelling) whatever the version wrote: `baseType` or `base-type`."""
    for key, value in element.attrib.items():
        if canonical(str(key).rpartition("}")[2]) == name:
            return str(value).strip()
    return None


def children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if local(child) == name]


def descendants(element: etree._Element, name: str) -> list[etree._Element]:
    return [node for node in element.iter() if local(node) == name]


@dataclass(slots=True)
class ParsedItem:
    """One item's outcome: a spec to import, or the reason it cannot be (`problem`)."""

    identifier: str
    title: str
    spec: QuestionSpec | None = None
    problem: str | None = None
    notes: list[str] = field(default_factory=list)


class _Unsupported(Exception):
    pass


def check_item_root(root: etree._Element, *, name: str) -> None:
    qname = etree.QName(root)
    if qname.namespace not in QTI_NAMESPACES:
        raise InvalidInput(
            f"{name} is not a QTI 2.1 or 3.0 document: its root element is "
            f"{'{' + qname.namespace + '}' if qname.namespace else ''}{qname.localname}, "
            f"expected assessmentItem in {NS_QTI21} or qti-assessment-item in {NS_QTI30}",
            code="wrong_namespace",
            field="file",
        )
    if local(root) != "assessmentItem":
        raise InvalidInput(
            f"{name} is a QTI {local(root)}, not an assessment item",
            code="not_an_item",
            field="file",
        )


def parse_item(root: etree._Element, *, name: str) -> ParsedItem:
    """An item element (already known to be a QTI assessmentItem) as a question spec."""
    identifier = attr(root, "identifier") or name
    item = ParsedItem(identifier=identifier, title=attr(root, "title") or identifier)
    try:
        item.spec = _spec(root, item)
    except _Unsupported as exc:
        item.problem = f"{exc} in item {identifier}"
    return item


def _spec(root: etree._Element, item: ParsedItem) -> QuestionSpec:
    bodies = children(root, "itemBody")
    if not bodies:
        raise _Unsupported("no itemBody")
    body = bodies[0]
    interactions = [
        node
        for node in body.iter()
        if local(node).endswith("Interaction") and not _inside_skipped(node, body)
    ]
    if not interactions:
        raise _Unsupported("no interaction")
    unsupported = sorted(
        {etree.QName(i).localname for i in interactions if local(i) not in SUPPORTED_INTERACTIONS}
    )
    if unsupported:
        raise _Unsupported(f"unsupported interaction {', '.join(unsupported)}")
    if len(interactions) > 1:
        raise _Unsupported(f"{len(interactions)} interactions (one per item is supported)")
    interaction = interactions[0]
    response_id = attr(interaction, "responseIdentifier") or ""
    declaration = _declaration(root, response_id)
    prompt = flatten(body, interaction=interaction, notes=item.notes)
    if not prompt:
        prompt = item.title
        item.notes.append("the item has no question text: its title is the prompt")
    kind = local(interaction)
    if kind == "choiceInteraction":
        return _choice(root, interaction, declaration, prompt, item)
    if kind == "textEntryInteraction":
        return _text_entry(root, declaration, prompt)
    return _extended_text(root, body, declaration, prompt)


def _inside_skipped(node: etree._Element, body: etree._Element) -> bool:
    parent = node.getparent()
    while parent is not None and parent is not body:
        if local(parent) in _SKIPPED:
            return True
        parent = parent.getparent()
    return False


def _declaration(root: etree._Element, response_id: str) -> etree._Element:
    for declaration in children(root, "responseDeclaration"):
        if attr(declaration, "identifier") == response_id:
            return declaration
    raise _Unsupported(f"no responseDeclaration for response {response_id!r}")


def _correct_values(declaration: etree._Element) -> list[str]:
    return [
        _literal(value).strip()
        for correct in children(declaration, "correctResponse")
        for value in children(correct, "value")
    ]


def _mapping(declaration: etree._Element) -> tuple[dict[str, float], float | None] | None:
    """The mapping's entries (key -> mapped value) and its upper bound, when there is one."""
    mappings = children(declaration, "mapping")
    if not mappings:
        return None
    mapping = mappings[0]
    entries: dict[str, float] = {}
    for entry in children(mapping, "mapEntry"):
        key, value = attr(entry, "mapKey"), _float(attr(entry, "mappedValue"))
        if key is not None and value is not None:
            entries[key] = value
    return entries, _float(attr(mapping, "upperBound"))


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _template(root: etree._Element) -> str:
    for processing in children(root, "responseProcessing"):
        return (attr(processing, "template") or "").rstrip("/").rsplit("/", 1)[-1].lower()
    return ""


def _score_set_values(root: etree._Element) -> list[float]:
    """The values hand-written response processing sets SCORE to (base values only)."""
    values = []
    for processing in children(root, "responseProcessing"):
        for setter in descendants(processing, "setOutcomeValue"):
            if attr(setter, "identifier") != "SCORE":
                continue
            for base in descendants(setter, "baseValue"):  # also inside <sum>, <product>...
                number = _float(_literal(base))
                if number is not None:
                    values.append(number)
    return values


def _points(root: etree._Element, mapped: float | None) -> float:
    """What the item declares a full answer is worth, in the order a scorer would see it:
    the mapping (with map_response or no template), SCORE's normalMaximum, MAXSCORE's default
    value, the largest value hand-written processing sets SCORE to; 1 otherwise (match_correct's
    score)."""
    template = _template(root)
    if mapped is not None and mapped > 0 and not template.startswith("match_correct"):
        return mapped
    outcomes = {attr(o, "identifier"): o for o in children(root, "outcomeDeclaration")}
    if "SCORE" in outcomes:
        maximum = _float(attr(outcomes["SCORE"], "normalMaximum"))
        if maximum is not None and maximum > 0:
            return maximum
    if "MAXSCORE" in outcomes:  # as TAO and other tools write it: a default value
        for default in children(outcomes["MAXSCORE"], "defaultValue"):
            for value in children(default, "value"):
                maximum = _float(_literal(value).strip())
                if maximum is not None and maximum > 0:
                    return maximum
    if not template:
        positive = [v for v in _score_set_values(root) if v > 0]
        if positive:
            return max(positive)
    return 1.0


def _choice(
    root: etree._Element,
    interaction: etree._Element,
    declaration: etree._Element,
    prompt: str,
    item: ParsedItem,
) -> QuestionSpec:
    cardinality = (attr(declaration, "cardinality") or "single").lower()
    if cardinality not in ("single", "multiple"):
        raise _Unsupported(f"choice response of cardinality {cardinality}")
    choices = [node for node in interaction.iter() if local(node) == "simpleChoice"]
    identifiers = [attr(choice, "identifier") or "" for choice in choices]
    correct = set(_correct_values(declaration))
    mapping = _mapping(declaration)
    mapped: float | None = None
    if mapping is not None:
        entries, upper = mapping
        if not correct:  # the mapping is the key: options worth points are the correct ones
            positive = {k: v for k, v in entries.items() if v > 0}
            if cardinality == "single" and positive:
                best = max(positive.values())
                correct = {k for k, v in positive.items() if v == best}
            else:
                correct = set(positive)
        worth = [entries.get(i, 0.0) for i in identifiers]
        positive_worth = [w for w in worth if w > 0]
        if positive_worth:
            mapped = max(positive_worth) if cardinality == "single" else sum(positive_worth)
            if upper is not None:
                mapped = min(mapped, upper)
    unknown = correct - set(identifiers)
    if unknown:
        raise _Unsupported(f"correct response names unknown choices {sorted(unknown)}")
    texts = []
    for choice, identifier in zip(choices, identifiers, strict=True):
        text = flatten(choice, notes=item.notes)
        if not text:
            text = identifier
            item.notes.append(f"choice {identifier} has no text: its identifier stands for it")
        texts.append(text)
    options = tuple(
        OptionSpec(text=text, is_correct=identifier in correct)
        for text, identifier in zip(texts, identifiers, strict=True)
    )
    kind = QuestionKind.SINGLE_CHOICE if cardinality == "single" else QuestionKind.MULTIPLE_CHOICE
    return QuestionSpec(kind=kind, prompt=prompt, points=_points(root, mapped), options=options)


def _text_entry(root: etree._Element, declaration: etree._Element, prompt: str) -> QuestionSpec:
    base_type = (attr(declaration, "baseType") or "string").lower()
    cardinality = (attr(declaration, "cardinality") or "single").lower()
    if cardinality != "single":
        raise _Unsupported(f"text entry response of cardinality {cardinality}")
    correct = _correct_values(declaration)
    mapping = _mapping(declaration)
    entries = mapping[0] if mapping else {}
    positive = {k: v for k, v in entries.items() if v > 0}
    mapped = max(positive.values()) if positive else None
    if mapped is not None and mapping and mapping[1] is not None:
        mapped = min(mapped, mapping[1])
    if base_type in ("float", "integer"):
        candidates = correct or sorted(positive, key=lambda k: -positive[k])
        answers = [_float(value) for value in candidates]
        if not answers or answers[0] is None:
            raise _Unsupported("numeric text entry without a numeric correct response")
        return QuestionSpec(
            kind=QuestionKind.NUMERIC,
            prompt=prompt,
            points=_points(root, mapped),
            numeric_answer=answers[0],
            numeric_tolerance=_tolerance(root, answers[0]),
        )
    if base_type != "string":
        raise _Unsupported(f"text entry response of base type {base_type}")
    accepted = list(dict.fromkeys([*correct, *sorted(positive, key=lambda k: -positive[k])]))
    accepted = [a.strip() for a in accepted if a.strip()]
    return QuestionSpec(
        kind=QuestionKind.FREE_TEXT,
        prompt=prompt,
        points=_points(root, mapped),
        reference_answer=accepted[0] if accepted else None,
        rubric_keywords=("|".join(accepted),) if accepted else None,
    )


def _tolerance(root: etree._Element, answer: float) -> float | None:
    """An `equal` comparison's tolerance in hand-written processing (absolute or relative %),
    or half a unit of the last place an `equalRounded` comparison keeps."""
    for processing in children(root, "responseProcessing"):
        for rounded in descendants(processing, "equalRounded"):
            figures = _float(attr(rounded, "figures"))
            if figures is None or not 0 <= figures <= 15:
                continue
            if (attr(rounded, "roundingMode") or "").lower() == "decimalplaces":
                return 0.5 * 10 ** -int(figures)
            if answer and figures >= 1:
                return 0.5 * 10 ** (math.floor(math.log10(abs(answer))) - int(figures) + 1)
        for equal in descendants(processing, "equal"):
            mode = (attr(equal, "toleranceMode") or "exact").lower()
            bounds = [_float(v) for v in (attr(equal, "tolerance") or "").split()]
            values = [abs(v) for v in bounds if v is not None]
            if mode == "exact":
                return None
            if not values:
                continue
            tolerance = max(values)
            return tolerance if mode == "absolute" else abs(answer) * tolerance / 100
    return None


def _extended_text(
    root: etree._Element,
    body: etree._Element,
    declaration: etree._Element,
    prompt: str,
) -> QuestionSpec:
    correct = [c.strip() for c in _correct_values(declaration) if c.strip()]
    keywords = [
        _literal(li).strip()
        for rubric in descendants(body, "rubricBlock")
        if (attr(rubric, "view") or "") in SCORER_VIEWS
        for li in descendants(rubric, "li")
    ]
    return QuestionSpec(
        kind=QuestionKind.FREE_TEXT,
        prompt=prompt,
        points=_points(root, None),
        reference_answer=correct[0] if correct else None,
        rubric_keywords=tuple(k for k in keywords if k) or None,
    )


def _literal(element: etree._Element) -> str:
    """An element's text as written (values and keywords are data, not HTML)."""
    return "".join(str(text) for text in element.itertext())


def flatten(
    element: etree._Element,
    *,
    interaction: etree._Element | None = None,
    notes: list[str] | None = None,
) -> str:
    """HTML content as plain text: white space collapsed as a browser would, a line per block,
    a blank line around paragraphs, `<pre>` kept exactly as written. `interaction` stands for
    itself by its prompt (choice, extended text) or a blank (a text entry within a sentence)."""
    pieces: list[tuple[str, bool]] = []  # (text, literal: from a <pre>)
    _walk(element, pieces, interaction=interaction, notes=notes, pre=False, top=element)
    out: list[str] = []
    run: list[str] = []
    for piece, literal in [*pieces, ("", True)]:
        if not literal:
            run.append(piece)
            continue
        if run:
            joined = re.sub(" {2,}", " ", "".join(run))
            text = "\n".join(line.strip(" ") for line in joined.split("\n"))
            out.append(re.sub(r"\n{3,}", "\n\n", text))
            run = []
        out.append(piece)
    return "".join(out).strip()


def _walk(
    element: etree._Element,
    out: list[tuple[str, bool]],
    *,
    interaction: etree._Element | None,
    notes: list[str] | None,
    pre: bool,
    top: etree._Element,
) -> None:
    name = local(element)
    if element is not top:
        if not isinstance(element.tag, str) or name in _SKIPPED or name == "simpleChoice":
            _tail(element, out, pre)
            return
        if name.endswith("Interaction"):
            if element is interaction:
                if name == "textEntryInteraction":
                    if not _alone(element):
                        out.append((" " + BLANK + " ", False))
                else:
                    for prompt in children(element, "prompt"):
                        out.append(("\n\n", False))
                        _walk(prompt, out, interaction=None, notes=notes, pre=pre, top=prompt)
                        out.append(("\n\n", False))
            _tail(element, out, pre)
            return
        if name == "br":
            out.append(("\n", pre))
            _tail(element, out, pre)
            return
        if name in ("math", "object", "audio", "video", "svg"):
            # Content the platform cannot show: its text (a formula's characters, an object's
            # fallback) stays in the prompt, and the report says what was simplified.
            fallback = " ".join(" ".join(str(t) for t in element.itertext()).split())
            if notes is not None:
                what = (
                    "a MathML formula"
                    if name == "math"
                    else f"an {name}" if name[0] in "aeiou" else f"a {name}"
                )
                notes.append(
                    f"{what} was left out" + (f" (its text kept: {fallback})" if fallback else "")
                )
            out.append((fallback, pre))
            _tail(element, out, pre)
            return
        if name == "img":
            alt = attr(element, "alt") or ""
            if notes is not None:
                notes.append("an image was left out" + (f" (its text kept: {alt})" if alt else ""))
            out.append((alt, pre))
            _tail(element, out, pre)
            return
    block = name in _BLOCKS and element is not top
    gap = "\n\n" if name in _PARAGRAPHS else "\n"
    is_pre = pre or name == "pre"
    if block:
        out.append((gap, False))
    if element.text:
        out.append((element.text if is_pre else _WS.sub(" ", element.text), is_pre))
    for child in element:
        _walk(child, out, interaction=interaction, notes=notes, pre=is_pre, top=top)
    if block:
        out.append((gap, False))
    if element is not top:
        _tail(element, out, pre)


def _alone(interaction: etree._Element) -> bool:
    """A text entry that is the only content of its block needs no blank in the prompt."""
    parent = interaction.getparent()
    return (
        parent is not None
        and len(parent) == 1
        and not (parent.text or "").strip()
        and not (interaction.tail or "").strip()
    )


def _tail(element: etree._Element, out: list[tuple[str, bool]], pre: bool) -> None:
    if element.tail:
        out.append((element.tail if pre else _WS.sub(" ", element.tail), pre))


def item_roots(roots: Iterable[etree._Element]) -> list[etree._Element]:
    return [root for root in roots if local(root) == "assessmentItem"]
