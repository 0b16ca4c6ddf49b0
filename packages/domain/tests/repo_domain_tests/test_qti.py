"""QTI import and export without a database: the hand-written 1EdTech samples read as the
questions they declare, hostile files are refused, and an export reads back equal."""

from __future__ import annotations

import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repo_db.models import QuestionKind
from repo_domain import qti
from repo_domain.errors import InvalidInput
from repo_domain.questions import OptionSpec, QuestionSpec
from repo_domain.validation import (
    OPTION_TEXT_MAX,
    OPTIONS_MAX,
    POINTS_MAX,
    PROMPT_MAX,
    QUESTIONS_MAX,
    RUBRIC_KEYWORD_MAX,
    TIME_LIMIT_SECONDS_MAX,
    TIME_LIMIT_SECONDS_MIN,
)
from repo_domain_tests.qti_files import (
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    WRONG_NAMESPACE,
    lying_zip,
    sample,
    sample_package,
    zip_bomb,
    zip_of,
)


def only_item(name: str) -> qti.ItemReport:
    result = qti.read_upload(name, sample(name))
    assert len(result.items) == 1
    return result.items[0]


def imported(name: str) -> QuestionSpec:
    item = only_item(name)
    assert item.spec is not None, item.message
    return item.spec


def options(spec: QuestionSpec) -> list[tuple[str, bool]]:
    return [(o.text, o.is_correct) for o in spec.options]


# --- what the samples declare ---------------------------------------------------------------


def test_qti21_single_choice_with_match_correct() -> None:
    spec = imported("choice_v2p1.xml")
    assert spec.kind is QuestionKind.SINGLE_CHOICE and spec.points == 1.0
    # Body text, the image's alt text and the interaction's prompt, a paragraph each.
    assert spec.prompt == (
        "Look at the text in the picture.\n\nNEVER LEAVE LUGGAGE UNATTENDED\n\nWhat does it say?"
    )
    assert options(spec) == [
        ("You must stay with your luggage at all times.", True),
        ("Do not let someone else look after your luggage.", False),
        ("Remember your luggage when you leave.", False),
    ]
    assert only_item("choice_v2p1.xml").notes  # the image is reported as left out


def test_qti21_multiple_response_takes_points_from_the_mapping() -> None:
    spec = imported("choice_multiple_v2p1.xml")  # prefixed namespace (qti:)
    assert spec.kind is QuestionKind.MULTIPLE_CHOICE
    assert spec.points == 2.0  # H and O map to 1 each; upperBound 2
    assert [text for text, correct in options(spec) if correct] == ["Hydrogen", "Oxygen"]
    assert len(spec.options) == 6


def test_qti21_text_entry_becomes_free_text_with_the_accepted_answers() -> None:
    spec = imported("text_entry_v2p1.xml")
    assert spec.kind is QuestionKind.FREE_TEXT
    assert spec.reference_answer == "York" and spec.rubric_keywords == ("York|york",)
    assert spec.points == 1.0
    assert spec.prompt.startswith("Identify the missing word")
    assert "Made glorious summer by this sun of _____ ;" in spec.prompt  # the blank, in place


def test_numeric_text_entries() -> None:
    boiling = imported("numeric_v2p1.xml")
    assert boiling.kind is QuestionKind.NUMERIC
    assert (boiling.numeric_answer, boiling.numeric_tolerance, boiling.points) == (100.0, 0.5, 2.0)
    assert boiling.prompt == "At sea level, water boils at how many degrees Celsius?"
    spider = imported("numeric_v3p0.xml")  # base-type integer, QTI 3.0 names
    assert (spider.numeric_answer, spider.numeric_tolerance, spider.points) == (8.0, None, 1.0)
    assert spider.prompt == "A spider has _____ legs."


def test_extended_text_is_free_text_worth_its_normal_maximum() -> None:
    spec = imported("extended_text_v2p1.xml")
    assert spec.kind is QuestionKind.FREE_TEXT and spec.points == 10.0
    assert spec.reference_answer is None
    assert spec.prompt.endswith("Write Sam a postcard. Answer the questions. Write 25-35 words.")
    assert "\n\nSam\n\n" in spec.prompt


def test_qti30_choice_and_mapped_multiple_response() -> None:
    capital = imported("choice_v3p0.xml")
    assert capital.prompt == "Which city is the capital of France?"  # <strong> flattened
    assert options(capital) == [("Lyon", False), ("Paris", True), ("Marseille", False)]
    even = imported("multiple_v3p0.xml")
    assert even.kind is QuestionKind.MULTIPLE_CHOICE and even.points == 3.0
    assert options(even) == [("2", True), ("3", False), ("4", True)]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("hotspot_v2p1.xml", "unsupported interaction hotspotInteraction in item hotspot"),
        ("match_v3p0.xml", "unsupported interaction qti-match-interaction in item q3-match"),
    ],
)
def test_unsupported_interactions_are_reported_by_name(name: str, message: str) -> None:
    item = only_item(name)
    assert item.spec is None and item.message == message


def test_a_package_follows_its_test_order_and_reports_every_item() -> None:
    result = qti.read_upload("sample.zip", sample_package())
    assert result.title == "Sample QTI 2.1 test"
    assert result.description == "Answer every question."
    assert [(i.source, i.kind) for i in result.items] == [
        ("items/text_entry_v2p1.xml", QuestionKind.FREE_TEXT),
        ("items/choice_v2p1.xml", QuestionKind.SINGLE_CHOICE),
        ("items/hotspot_v2p1.xml", None),
    ]
    assert result.items[2].message == "unsupported interaction hotspotInteraction in item hotspot"


def test_a_manifest_naming_a_missing_file_reports_that_item() -> None:
    manifest = b"""<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"><resources>
      <resource identifier="a" type="imsqti_item_xmlv2p1" href="a.xml"/>
      <resource identifier="b" type="imsqti_item_xmlv2p1" href="gone.xml"/>
    </resources></manifest>"""
    result = qti.read_upload(
        "p.zip", zip_of({"imsmanifest.xml": manifest, "a.xml": sample("choice_v3p0.xml")})
    )
    assert [i.imported for i in result.items] == [True, False]
    assert "gone.xml" in (result.items[1].message or "")


def test_an_item_that_breaks_a_question_rule_is_reported_with_the_rule() -> None:
    one_choice = (
        sample("choice_v3p0.xml")
        .replace(b'<qti-simple-choice identifier="A">Lyon</qti-simple-choice>', b"")
        .replace(b'<qti-simple-choice identifier="C">Marseille</qti-simple-choice>', b"")
    )
    item = qti.read_upload("one.xml", one_choice).items[0]
    # The message comes from QuestionSpec.validated(), the rule every adapter shares.
    assert item.spec is None and item.message == (
        "single choice questions need at least 2 options in item q3-choice"
    )


def test_liberal_in_spacing_and_prefixes() -> None:
    """The same item with a prefix, odd white space and the 2.1 template URL still reads."""
    text = b"""<?xml version="1.0" encoding="UTF-8"?>
    <x:assessmentItem xmlns:x="http://www.imsglobal.org/xsd/imsqti_v2p1"
        identifier=" i1 " title="T">
      <x:responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">
        <x:correctResponse><x:value>  B  </x:value></x:correctResponse>
      </x:responseDeclaration>
      <x:itemBody><div><x:choiceInteraction responseIdentifier="RESPONSE" maxChoices="1">
          <x:prompt>  Pick
              B  </x:prompt>
          <x:simpleChoice identifier="A"> A </x:simpleChoice>
          <x:simpleChoice identifier="B"><p>B <em>option</em></p></x:simpleChoice>
      </x:choiceInteraction></div></x:itemBody>
      <x:responseProcessing template="http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct"/>
    </x:assessmentItem>"""
    spec = qti.read_upload("i.xml", text).specs[0]
    assert spec.prompt == "Pick B"
    assert options(spec) == [("A", False), ("B option", True)]


# --- hostile or wrong files: refused as a whole -------------------------------------------


def refusal(data: bytes, name: str = "upload.xml") -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        qti.read_upload(name, data)
    return info.value


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (BILLION_LAUGHS, "xml_entities"),
        (EXTERNAL_ENTITY, "xml_entities"),
        (WRONG_NAMESPACE, "wrong_namespace"),
        (b"this is not XML at all", "not_xml"),
        (b"<assessmentItem", "not_xml"),
        (b"", "required"),
        (b"PK\x03\x04 truncated zip", "bad_zip"),
    ],
)
def test_hostile_or_wrong_files_are_refused(data: bytes, code: str) -> None:
    assert refusal(data).code == code


def test_an_external_entity_is_never_read() -> None:
    # Were entities resolved, the message or the title would carry the file's first line.
    assert "root:" not in refusal(EXTERNAL_ENTITY).message


def test_files_too_large_are_refused() -> None:
    too_big = b"<a>" + b" " * qti.UPLOAD_MAX_BYTES + b"</a>"
    assert refusal(too_big).code == "too_large"


def test_zip_bombs_are_refused_by_declared_and_by_actual_size() -> None:
    assert refusal(zip_bomb(), "bomb.zip").code == "too_large"
    # The directory says 10 bytes and the member inflates to 1 MiB: reading stops at the declared
    # size and the CRC no longer matches (a reader trusting the inflated stream would take it all).
    liar = refusal(lying_zip(), "liar.zip")
    assert liar.code == "bad_zip" and "items/a.xml" in liar.message


def test_packages_with_too_many_members_are_refused() -> None:
    files = {f"f{i}.txt": b"" for i in range(qti.PACKAGE_MEMBERS_MAX + 1)}
    assert refusal(zip_of(files, compression=zipfile.ZIP_STORED), "many.zip").code == (
        "too_many_files"
    )


@pytest.mark.parametrize("path", ["../evil.xml", "/etc/evil.xml", "a/../../evil.xml", "C:/x.xml"])
def test_paths_leaving_the_package_are_refused(path: str) -> None:
    member = zip_of({"imsmanifest.xml": b"<manifest/>", path: sample("choice_v3p0.xml")})
    assert refusal(member, "p.zip").code == "unsafe_path"
    manifest = f"""<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"><resources>
      <resource identifier="a" type="imsqti_item_xmlv2p1" href="{path}"/>
    </resources></manifest>""".encode()
    assert refusal(zip_of({"imsmanifest.xml": manifest}), "p.zip").code == "unsafe_path"


def test_a_bomb_inside_a_package_refuses_the_package() -> None:
    manifest = b"""<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"><resources>
      <resource identifier="a" type="imsqti_item_xmlv2p1" href="a.xml"/>
    </resources></manifest>"""
    data = zip_of({"imsmanifest.xml": manifest, "a.xml": BILLION_LAUGHS})
    assert refusal(data, "p.zip").code == "xml_entities"


def test_a_test_file_is_not_an_item() -> None:
    test = sample("package_v2p1/test.xml")
    assert refusal(test).code == "not_an_item"


# --- export, and back ---------------------------------------------------------------------

EXAMPLES = [
    QuestionSpec(
        kind="single_choice",
        prompt="What is 2 + 2?\n\nPick  one.",
        points=2.5,
        options=(OptionSpec("3"), OptionSpec("4", True)),
    ),
    QuestionSpec(
        kind="multiple_choice",
        prompt="Primes <b>bold</b> & co",
        options=(OptionSpec("2", True), OptionSpec("3", True), OptionSpec("4")),
    ),
    QuestionSpec(kind="numeric", prompt="pi?", numeric_answer=3.14159, numeric_tolerance=0.01),
    QuestionSpec(kind="numeric", prompt="line\r\nbreak", numeric_answer=-3, numeric_tolerance=0),
    QuestionSpec(
        kind="free_text",
        prompt="Explain:\n  indented\tline",
        points=4,
        reference_answer="It avoids  a full scan.",
        rubric_keywords=("full table scan|every row", "b-tree"),
    ),
    QuestionSpec(kind="free_text", prompt="Anything?"),
]


def round_trip(
    specs: list[QuestionSpec],
    *,
    title: str = "T",
    description: str = "",
    time_limit: int | None = None,
) -> None:
    data = qti.write_package(
        title=title, description=description, questions=specs, time_limit_seconds=time_limit
    )
    back = qti.read_upload("export.zip", data)
    assert [i.message for i in back.items] == [None] * len(specs)
    assert back.specs == specs
    assert (back.title, back.description, back.time_limit_seconds) == (
        title,
        description,
        time_limit,
    )


def test_every_kind_round_trips() -> None:
    round_trip(
        [s.validated() for s in EXAMPLES],
        title="Databases  101",
        description="Be\nbrief.",
        time_limit=600,
    )


def test_a_time_limit_the_platform_cannot_hold_is_left_to_the_author() -> None:
    spec = EXAMPLES[2].validated()
    for seconds in (TIME_LIMIT_SECONDS_MIN - 1, TIME_LIMIT_SECONDS_MAX + 1):
        data = qti.write_package(
            title="T", description="", questions=[spec], time_limit_seconds=seconds
        )
        assert qti.read_upload("t.zip", data).time_limit_seconds is None


def test_an_exported_item_is_qti30() -> None:
    data = qti.write_package(title="T", description="", questions=[EXAMPLES[0].validated()])
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as archive:
        names = set(archive.namelist())
        item = archive.read("items/item_1.xml")
    assert names == {"imsmanifest.xml", "assessment.xml", "items/item_1.xml"}
    assert b'xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0"' in item
    assert b"<qti-choice-interaction" in item and b"<qti-simple-choice" in item


# XML 1.0 cannot hold U+FFFE/U+FFFF, which the question rules allow: the one known limit of the
# round trip, left out of the alphabet (an export of such a text fails loudly in lxml).
_TEXT = (
    st.text(
        alphabet=st.characters(blacklist_characters="\ufffe\uffff").filter(
            # Storable text only (repo_domain.validation): no controls, no lone surrogates.
            lambda c: ord(c) >= 0x20
            and not 0x7F <= ord(c) <= 0x9F
            and not 0xD800 <= ord(c) <= 0xDFFF
        )
        | st.sampled_from(" \n\t\r<>&"),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)
_LINE = _TEXT.map(lambda t: " ".join(t.split())).filter(bool)
_POINTS = st.floats(min_value=0.01, max_value=POINTS_MAX, allow_nan=False)


@st.composite
def question_specs(draw: st.DrawFn) -> QuestionSpec:
    kind = draw(st.sampled_from(list(QuestionKind)))
    prompt, points = draw(_TEXT), draw(_POINTS)
    if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
        texts = draw(st.lists(_TEXT, min_size=2, max_size=5))
        if kind is QuestionKind.SINGLE_CHOICE:
            right = draw(st.integers(0, len(texts) - 1))
            flags = [i == right for i in range(len(texts))]
        else:
            flags = draw(st.lists(st.booleans(), min_size=len(texts), max_size=len(texts)))
            flags[0] = flags[0] or not any(flags)
        opts = tuple(OptionSpec(t, f) for t, f in zip(texts, flags, strict=True))
        return QuestionSpec(kind=kind, prompt=prompt, points=points, options=opts).validated()
    if kind is QuestionKind.NUMERIC:
        answer = draw(st.floats(-1e15, 1e15, allow_nan=False))
        tolerance = draw(st.none() | st.floats(0, 1e6, allow_nan=False))
        return QuestionSpec(
            kind=kind,
            prompt=prompt,
            points=points,
            numeric_answer=answer,
            numeric_tolerance=tolerance,
        ).validated()
    return QuestionSpec(
        kind=kind,
        prompt=prompt,
        points=points,
        reference_answer=draw(st.none() | _TEXT),
        rubric_keywords=draw(st.none() | st.lists(_LINE, min_size=1, max_size=3).map(tuple)),
    ).validated()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(question_specs(), min_size=1, max_size=4),
    title=_LINE,
    description=_TEXT,
    time_limit=st.none() | st.integers(TIME_LIMIT_SECONDS_MIN, TIME_LIMIT_SECONDS_MAX),
)
def test_any_valid_assessment_round_trips(
    specs: list[QuestionSpec], title: str, description: str, time_limit: int | None
) -> None:
    """Breaks when the export writes a field the import reads differently (a prompt's spaces,
    a float's digits, an option's order, a keyword, a tolerance of None versus 0)."""
    round_trip(specs, title=title, description=description, time_limit=time_limit)


def test_limits_come_from_the_question_rules() -> None:
    # An imported question is held to the same limits as a typed one (no second set here).
    long_prompt = QuestionSpec(kind="free_text", prompt="x" * (PROMPT_MAX + 1))
    item = qti.item_xml(long_prompt, identifier="long", title="Long")
    report = qti.read_upload("long.xml", item).items[0]
    assert report.spec is None and "prompt has at most" in (report.message or "")
    assert OPTIONS_MAX and OPTION_TEXT_MAX and RUBRIC_KEYWORD_MAX and QUESTIONS_MAX


# --- liberal where files differ harmlessly ----------------------------------------------------

TAO_STYLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1"
    identifier="i-tao" title="Flags">
  <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">
    <correctResponse><value>choice_2</value></correctResponse>
  </responseDeclaration>
  <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float"/>
  <outcomeDeclaration identifier="MAXSCORE" cardinality="single" baseType="float">
    <defaultValue><value>3</value></defaultValue>
  </outcomeDeclaration>
  <itemBody><div class="grid-row"><div class="col-12">
    <choiceInteraction responseIdentifier="RESPONSE" shuffle="false" maxChoices="1">
      <simpleChoice identifier="choice_1"><img src="fr.png" alt=""/></simpleChoice>
      <simpleChoice identifier="choice_2"><img src="it.png" alt="Italy"/></simpleChoice>
    </choiceInteraction>
  </div></div></itemBody>
  <responseProcessing
    template="http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct"/>
</assessmentItem>"""


def test_maxscore_an_empty_prompt_and_image_only_choices() -> None:
    item = qti.read_upload("tao.xml", TAO_STYLE).items[0]
    assert item.spec is not None, item.message
    # MAXSCORE's default value is the points; the title stands in for the missing prompt; an
    # image-only choice keeps its alt text or, without one, its identifier; each noted.
    assert item.spec.points == 3.0 and item.spec.prompt == "Flags"
    assert options(item.spec) == [("choice_1", False), ("Italy", True)]
    assert any("title is the prompt" in note for note in item.notes)
    assert any("choice choice_1 has no text" in note for note in item.notes)


def test_a_qti30_package_with_url_encoded_paths() -> None:
    manifest = b"""<?xml version="1.0" encoding="UTF-8"?>
    <manifest xmlns="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1" identifier="m">
      <resources>
        <resource identifier="q1" type="imsqti_item_xmlv3p0" href="my%20items/capital.xml">
          <file href="my%20items/capital.xml"/>
        </resource>
        <resource identifier="q2" type="imsqti_item_xmlv3p0" href="items/even.xml"/>
        <resource identifier="old" type="imsqti_xmlv1p2" href="items/old.xml"/>
      </resources>
    </manifest>"""
    data = zip_of(
        {
            "imsmanifest.xml": manifest,
            "my items/capital.xml": sample("choice_v3p0.xml"),
            "items/even.xml": sample("multiple_v3p0.xml"),
            "items/old.xml": b"<questestinterop/>",
        }
    )
    result = qti.read_upload("qti3.zip", data)
    assert [(i.source, i.kind) for i in result.items] == [
        ("my items/capital.xml", QuestionKind.SINGLE_CHOICE),
        ("items/even.xml", QuestionKind.MULTIPLE_CHOICE),
        ("items/old.xml", None),
    ]
    assert "QTI 1.x items are not supported" in (result.items[2].message or "")


def test_tolerance_from_equal_rounded_and_points_inside_an_expression() -> None:
    item = b"""<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1"
        identifier="r" title="r">
      <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="float">
        <correctResponse><value>3.14159</value></correctResponse>
      </responseDeclaration>
      <itemBody><p>Pi to two decimal places?</p>
        <p><textEntryInteraction responseIdentifier="RESPONSE"/></p></itemBody>
      <responseProcessing><responseCondition><responseIf>
        <equalRounded roundingMode="decimalPlaces" figures="2">
          <variable identifier="RESPONSE"/><correct identifier="RESPONSE"/>
        </equalRounded>
        <setOutcomeValue identifier="SCORE">
          <sum><variable identifier="SCORE"/><baseValue baseType="float">4</baseValue></sum>
        </setOutcomeValue>
      </responseIf></responseCondition></responseProcessing>
    </assessmentItem>"""
    spec = qti.read_upload("r.xml", item).specs[0]
    # Rounded to 2 places, 3.14 and 3.135..3.145 agree: half a hundredth either way.
    assert spec.numeric_answer == 3.14159 and spec.numeric_tolerance == 0.005
    assert spec.points == 4.0


def test_formulas_and_objects_keep_their_text_and_are_noted() -> None:
    item = b"""<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
        identifier="m" title="m">
      <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="integer">
        <qti-correct-response><qti-value>4</qti-value></qti-correct-response>
      </qti-response-declaration>
      <qti-item-body>
        <p>Solve <math xmlns="http://www.w3.org/1998/Math/MathML"><mi>x</mi><mo>+</mo><mn>1</mn>
          <mo>=</mo><mn>5</mn></math> for x.</p>
        <object data="graph.svg" type="image/svg+xml">A line graph</object>
        <p><qti-text-entry-interaction response-identifier="RESPONSE"/></p>
      </qti-item-body>
    </qti-assessment-item>"""
    report = qti.read_upload("m.xml", item).items[0]
    assert report.spec is not None
    # Dropping the formula silently would leave "Solve for x." and no note.
    assert report.spec.prompt == "Solve x + 1 = 5 for x.\n\nA line graph"
    assert [n.split(" was")[0] for n in report.notes] == ["a MathML formula", "an object"]


def test_items_past_the_question_limit_are_reported_and_titles_are_one_line() -> None:
    spec = QuestionSpec(kind="numeric", prompt="1 + 1?", numeric_answer=2).validated()
    data = qti.write_package(title="Many", description="", questions=[spec] * (QUESTIONS_MAX + 1))
    result = qti.read_upload("many.zip", data)
    assert len(result.specs) == QUESTIONS_MAX
    assert result.items[-1].message == (
        f"an assessment holds at most {QUESTIONS_MAX} questions: item item_{QUESTIONS_MAX + 1} "
        "left out"
    )
    two_lines = sample("choice_v3p0.xml").replace(b'title="Capital of France"', b'title="A&#10;B"')
    assert qti.read_upload("t.xml", two_lines).title == "A B"


def test_moodle_and_tao_spellings() -> None:
    """Moodle's QTI 2 export (its own 2.0 item namespace, a nested namespace declaration, SCORE
    set from the mapping) and TAO's (QTI 2.2, CDATA values, MathML with a prefix)."""
    moodle = b"""<?xml version="1.0" encoding="UTF-8"?>
    <assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_item_v2p0" identifier="q12"
        title="Moodle short answer" adaptive="false" timeDependent="false">
      <responseDeclaration identifier="q12" cardinality="single" baseType="string">
        <correctResponse><value>Paris</value></correctResponse>
        <mapping lowerBound="0" upperBound="1" defaultValue="0">
          <mapEntry mapKey="Paris" mappedValue="1"/><mapEntry mapKey="paris" mappedValue="0.5"/>
        </mapping>
      </responseDeclaration>
      <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float"/>
      <itemBody><p>Capital of France?</p>
        <div class="interactive.textEntry">
          <textEntryInteraction responseIdentifier="q12" expectedLength="15"/></div></itemBody>
      <responseProcessing xmlns="http://www.imsglobal.org/xsd/imsqti_item_v2p0">
        <responseCondition><responseIf><isNull><variable identifier="q12"/></isNull>
          <setOutcomeValue identifier="SCORE"><baseValue baseType="integer">0</baseValue>
          </setOutcomeValue></responseIf>
        <responseElse><setOutcomeValue identifier="SCORE"><mapResponse identifier="q12"/>
          </setOutcomeValue></responseElse></responseCondition>
      </responseProcessing>
    </assessmentItem>"""
    spec = qti.read_upload("moodle.xml", moodle).specs[0]
    assert (spec.kind, spec.prompt, spec.points) == (
        QuestionKind.FREE_TEXT,
        "Capital of France?",
        1,
    )
    assert spec.reference_answer == "Paris" and spec.rubric_keywords == ("Paris|paris",)
    tao = b"""<?xml version="1.0" encoding="UTF-8"?>
    <assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p2"
        xmlns:m="http://www.w3.org/1998/Math/MathML" identifier="i60" title="TAO item"
        toolName="TAO">
      <responseDeclaration identifier="RESPONSE" cardinality="multiple" baseType="identifier">
        <correctResponse><value><![CDATA[choice_1]]></value><value><![CDATA[choice_3]]></value>
        </correctResponse>
        <mapping defaultValue="0"><mapEntry mapKey="choice_1" mappedValue="1"/>
          <mapEntry mapKey="choice_3" mappedValue="1"/></mapping>
      </responseDeclaration>
      <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float"
          normalMaximum="2"/>
      <outcomeDeclaration identifier="MAXSCORE" cardinality="single" baseType="float">
        <defaultValue><value>2</value></defaultValue></outcomeDeclaration>
      <itemBody><div class="grid-row"><div class="col-12">
        <choiceInteraction responseIdentifier="RESPONSE" shuffle="false" maxChoices="0">
          <prompt>Which equal <m:math><m:mn>4</m:mn></m:math>?</prompt>
          <simpleChoice identifier="choice_1">2 + 2</simpleChoice>
          <simpleChoice identifier="choice_2">2 + 3</simpleChoice>
          <simpleChoice identifier="choice_3">2 x 2</simpleChoice>
        </choiceInteraction></div></div></itemBody>
      <responseProcessing
          template="http://www.imsglobal.org/question/qti_v2p2/rptemplates/map_response"/>
    </assessmentItem>"""
    spec = qti.read_upload("tao.xml", tao).specs[0]
    assert (spec.kind, spec.prompt, spec.points) == (
        QuestionKind.MULTIPLE_CHOICE,
        "Which equal 4?",
        2.0,
    )
    assert options(spec) == [("2 + 2", True), ("2 + 3", False), ("2 x 2", True)]


def test_a_zipped_folder_without_a_manifest_reads_its_items() -> None:
    # As a Mac zips a folder: the items one level down, AppleDouble files beside them.
    data = zip_of(
        {
            "quiz/b.xml": sample("choice_v3p0.xml"),
            "quiz/a.xml": sample("numeric_v2p1.xml"),
            "quiz/notes.txt": b"not QTI",
            "__MACOSX/quiz/._a.xml": b"\x00\x05\x16\x07 binary",
        }
    )
    result = qti.read_upload("quiz.zip", data)
    assert [i.source for i in result.items] == ["quiz/a.xml", "quiz/b.xml"]
    assert result.title == "quiz" and all(i.imported for i in result.items)
