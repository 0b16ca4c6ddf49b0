"""The rubric an author fills in, read from what repo_db's Question stores.

``Question.reference_answer`` holds one or more model answers (separated by a blank line);
``Question.rubric_keywords`` holds a JSON list of strings, one entry per key idea:

* ``"avoid a full table scan|without scanning every row|not read every row"``: a key idea
  with its accepted phrasings, separated by ``|``. A phrasing is matched by its content
  words (stemmed, in any order, close together in one sentence), so write the words that
  carry the idea, and list the phrasings learners use that general English does not make
  synonyms (jargon, metaphors): WordNet supplies everyday synonyms
  (``repo_ai.grading_wordnet``).
* ``"!conducts cold|metal is colder"``: an entry starting with ``!`` lists known false
  statements (misconceptions); an answer that makes one loses credit.

Polarity counts: a phrasing written with a negation (``without scanning every row``) is
matched only by an answer that negates it too (``it does not have to scan every row``); an
answer that states the opposite (``it scans every row``) contradicts the idea. Older rubrics
(plain keyword lists) are valid rubrics of this format.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from repo_ai.grading_text import expand, opposites, tokens
from repo_ai.grading_wordnet import NONE, SHIPPED, Expansion

FALSE_PREFIX = "!"
#: Read a key idea's phrasing with one word turned into its antonym as a contradiction of it.
ANTONYM_CONTRADICTIONS = True
#: Words a phrasing's match may skip (everything else an author wrote must be found).
GLUE = frozenset(
    "a an the of to in on at is are was were be been by for with and or it its".split()
)


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str
    concepts: tuple[str, ...]  # content concepts, in order
    words: tuple[str, ...]  # the words they come from
    accepted: tuple[frozenset[str], ...]  # per concept: the concepts an answer may use for it
    negated: bool  # the phrasing itself carries an odd number of negation cues
    #: The phrasing with one word turned into its opposite (``price rises`` -> ``price
    #: falls``): an answer that states one of these contradicts the idea.
    opposites: tuple[Phrase, ...] = ()


@dataclass(frozen=True, slots=True)
class Idea:
    label: str  # the first phrasing: for the grader's own use, never shown to a learner
    phrases: tuple[Phrase, ...]


@dataclass(frozen=True, slots=True)
class Rubric:
    reference_answers: list[str]
    keywords: list[str] = field(default_factory=list)  # the key ideas' entries
    ideas: tuple[Idea, ...] = ()
    false_statements: tuple[Idea, ...] = ()
    raw_keywords: tuple[str, ...] = ()  # as stored, false statements included
    expansion: Expansion = SHIPPED  # how far words reach into WordNet (repo_ai.grading_wordnet)

    @classmethod
    def of(
        cls,
        reference_answer: str | None,
        keywords: list[str] | None,
        expansion: Expansion = SHIPPED,
    ) -> Rubric:
        """Read a question's stored rubric. Empty phrasings and entries are ignored."""
        refs = [r.strip() for r in (reference_answer or "").split("\n\n") if r.strip()]
        raw = [k for k in (keywords or []) if isinstance(k, str) and k.strip()]
        ideas: list[Idea] = []
        false: list[Idea] = []
        keywords = [k for k in raw if not k.lstrip().startswith(FALSE_PREFIX)]
        for entry in raw:
            target = false if entry.lstrip().startswith(FALSE_PREFIX) else ideas
            idea = _idea(entry.lstrip().removeprefix(FALSE_PREFIX), expansion)
            if idea is not None:
                target.append(idea)
        return cls(
            reference_answers=refs,
            keywords=keywords,
            ideas=tuple(ideas),
            false_statements=tuple(false),
            raw_keywords=tuple(raw),
            expansion=(
                NONE
                if expansion.single_phrasing_only and any("|" in k for k in keywords)
                else expansion
            ),
        )


def _idea(entry: str, expansion: Expansion) -> Idea | None:
    if expansion.single_phrasing_only and len([a for a in entry.split("|") if a.strip()]) > 1:
        expansion = NONE
    phrases = tuple(
        p for p in (_phrase(alt, expansion) for alt in entry.split("|")) if p is not None
    )
    if not phrases:
        return None
    return Idea(label=phrases[0].text, phrases=phrases)


def _phrase(text: str, expansion: Expansion) -> Phrase | None:
    toks = tokens(text)
    kept = [t for t in toks if t.word not in GLUE and not t.negation]
    if not kept:
        return None
    negated = sum(t.negation for t in toks) % 2 == 1
    phrase = Phrase(
        text=" ".join(text.split()),
        concepts=tuple(t.concept for t in kept),
        words=tuple(t.word for t in kept),
        accepted=tuple(expand(t.word, expansion) for t in kept),
        negated=negated,
    )
    return replace(phrase, opposites=_opposites(phrase)) if ANTONYM_CONTRADICTIONS else phrase


def _opposites(phrase: Phrase) -> tuple[Phrase, ...]:
    out = []
    for i, word in enumerate(phrase.words):
        opposite = opposites(word) - phrase.accepted[i]
        if opposite:
            concepts = (*phrase.concepts[:i], f"~{phrase.concepts[i]}", *phrase.concepts[i + 1 :])
            accepted = (*phrase.accepted[:i], opposite, *phrase.accepted[i + 1 :])
            out.append(replace(phrase, concepts=concepts, accepted=accepted))
    return tuple(out)
