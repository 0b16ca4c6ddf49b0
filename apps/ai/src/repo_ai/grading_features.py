"""What the grader measures in an answer, given the rubric: the features its model reads.

Each feature is a number in about [0, 1] with a meaning a teacher can follow:

* ``ideas``: share of the rubric's key ideas the answer states (with the right polarity);
* ``ideas_soft``: how much of each idea's best phrasing is there, averaged (partial credit for
  a half-stated idea, blind to polarity);
* ``contradicted``: share of key ideas the answer states the opposite of (negated);
* ``false``: the answer makes one of the rubric's known false statements;
* ``ref_recall`` / ``ref_precision``: overlap of content concepts (stems, everyday synonyms,
  WordNet's when the rubric's expansion allows) with the model answer and rubric, in both
  directions;
* ``chars``: character 3-5-gram cosine with the closest model answer (typos, inflections);
* ``fluency``: share of function words (a keyword list has almost none) and ``connectives``
  (``because``, ``so``, ``which`` ...): stuffed answers are word lists, not sentences;
* ``length``: log-scaled word count; ``dont_know``: the answer says it does not know;
* ``ideas_sym`` / ``soft_sym`` / ``rr_sym``: ``ideas``, ``ideas_soft`` and ``ref_recall`` again
  with WordNet on both sides, for every rubric (``ANSWER_SIDE``): an answer word counts for a
  rubric word when either one's synonyms or derived forms hold the other (right in other
  words, when the author listed phrasings that the learner did not use).

``ideas_fluent``, ``recall_fluent``, ``rr_sym_fluent`` and ``soft_sym_fluent`` multiply
coverage by fluency, so that a linear model can
give coverage credit only to answers written as sentences.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from repo_ai.grading_rubric import Idea, Phrase, Rubric
from repo_ai.grading_text import Token, expand, is_content, normalise, tokens
from repo_ai.grading_wordnet import ANSWER_SIDE, Expansion

FEATURES = (
    "ideas",
    "ideas_soft",
    "contradicted",
    "false",
    "ref_recall",
    "ref_precision",
    "chars",
    "fluency",
    "connectives",
    "length",
    "dont_know",
    "ideas_fluent",
    "recall_fluent",
    "length_on_topic",
    "recall_prefix",
    "ideas_count",
    "ideas_sym",
    "soft_sym",
    "rr_sym",
    "rr_sym_fluent",
    "soft_sym_fluent",
)
_CONNECTIVES = frozenset(
    "because so since therefore thus which that when if then while whereas so than instead "
    "means until as".split()
)
_DONT_KNOW = re.compile(
    r"\b(i )?(do n't|dont|don't) (know|remember)|\bno (idea|clue)\b|\bnot sure\b|\bidk\b|"
    r"\bdunno\b|\bcan n't remember\b|\bforgot\b|\bnever (heard|learned)\b"
)
_SEPARATOR = re.compile(r"[,;]")
#: How many tokens before a match a negation cue still reaches.
_SCOPE = 5
#: How far apart (in tokens) a phrasing's words may be, per word of the phrasing.
_SPREAD = 3


@dataclass(frozen=True, slots=True)
class IdeaMatch:
    hit: bool  # stated with the idea's polarity
    contradicted: bool  # stated with the opposite polarity (and nowhere with the right one)
    soft: float  # share of the best phrasing's words found in one sentence


def match_idea(
    idea: Idea,
    toks: tuple[Token, ...],
    symmetric: Expansion | None = None,
    opposites: bool = True,
) -> IdeaMatch:
    """How the answer states ``idea``; with ``opposites``, a phrasing stated with one word
    turned into its antonym (``price falls`` for ``price rises``) contradicts it."""
    hit = contradicted = False
    soft = 0.0
    for phrase in idea.phrases:
        found, polarity, strong, share = _match_phrase(phrase, toks, symmetric)
        soft = max(soft, share)
        if found:
            # A positive phrasing ("full table scan") found under an avoidance word only ("it
            # avoids a full table scan") is a mention, as plain keyword rubrics mean it; a plain
            # negator ("it is not sorted") contradicts it.
            if polarity == phrase.negated or not phrase.negated and not strong:
                hit = True
            else:
                contradicted = True
    if opposites and not hit and not contradicted:
        contradicted = any(
            found and polarity == phrase.negated
            for phrase in idea.phrases
            for found, polarity, _, _ in (_match_phrase(o, toks) for o in phrase.opposites)
        )
    return IdeaMatch(hit=hit, contradicted=contradicted and not hit, soft=soft)


def _slots(phrase: Phrase, tok: Token, symmetric: Expansion | None) -> list[int]:
    """The phrasing's words this answer token can stand for."""
    theirs = expand(tok.word, symmetric) if symmetric is not None else frozenset()
    return [
        i
        for i, (concept, accepted) in enumerate(zip(phrase.concepts, phrase.accepted, strict=True))
        if tok.concept in accepted or concept in theirs
    ]


def _match_phrase(
    phrase: Phrase, toks: tuple[Token, ...], symmetric: Expansion | None = None
) -> tuple[bool, bool, bool, float]:
    """(found, negated, strong, share): the tightest window of one sentence holding all the
    phrasing's words (or words WordNet lets stand for them), whether negation cues make it
    negated (and whether a plain negator is among them), and the best share of the phrasing's
    words found in one sentence."""
    n_slots = len(phrase.concepts)
    best_share = 0.0
    best: tuple[int, int] | None = None
    sentences: dict[int, list[tuple[int, list[int]]]] = {}
    for i, tok in enumerate(toks):
        slots = _slots(phrase, tok, symmetric)
        if slots:
            sentences.setdefault(tok.sentence, []).append((i, slots))
    limit = _SPREAD * n_slots + 2
    for hits in sentences.values():
        present = {s for _, slots in hits for s in slots}
        best_share = max(best_share, len(present) / n_slots)
        if len(present) < n_slots:
            continue
        window = _tightest_window(hits, n_slots)
        if (
            window
            and window[1] - window[0] < limit
            and (best is None or window[1] - window[0] < best[1] - best[0])
        ):
            best = window
    if best is None:
        return False, False, False, best_share
    negated, strong = _negated(toks, *best)
    return True, negated, strong, 1.0


def _tightest_window(hits: list[tuple[int, list[int]]], n_slots: int) -> tuple[int, int] | None:
    best: tuple[int, int] | None = None
    counts: dict[int, int] = {}
    left = 0
    for pos, slots in hits:
        for s in slots:
            counts[s] = counts.get(s, 0) + 1
        while len(counts) == n_slots:
            start, end = hits[left][0], pos
            if best is None or end - start < best[1] - best[0]:
                best = (start, end)
            for s in hits[left][1]:
                counts[s] -= 1
                if not counts[s]:
                    del counts[s]
            left += 1
    return best


def _negated(toks: tuple[Token, ...], start: int, end: int) -> tuple[bool, bool]:
    """Odd number of negation cues in the window and up to ``_SCOPE`` tokens before it in the
    same clause, plus a trailing cue right after it (``... is not needed``); and whether a
    plain negator is among them."""
    clause = toks[start].clause
    first = start
    while first > 0 and toks[first - 1].clause == clause and start - first < _SCOPE:
        first -= 1
    scope = list(toks[first : end + 1])
    for t in toks[end + 1 : end + 4]:
        if t.clause != toks[end].clause:
            break
        scope.append(t)
    return sum(t.negation for t in scope) % 2 == 1, any(t.strong for t in scope)


@lru_cache(maxsize=4096)
def char_grams(text: str) -> frozenset[str]:
    """Character 3-5-grams inside space-padded words (scikit-learn's ``char_wb``), as a set."""
    grams: set[str] = set()
    for word in normalise(text).split():
        padded = f" {word} "
        for size in (3, 4, 5):
            grams.update(padded[i : i + size] for i in range(len(padded) - size + 1))
    return frozenset(grams)


def char_similarity(answer: str, references: tuple[str, ...]) -> float:
    """Cosine of binary char-n-gram vectors with the closest reference."""
    mine = char_grams(answer)
    best = 0.0
    for ref in references:
        theirs = char_grams(ref)
        if mine and theirs:
            best = max(best, len(mine & theirs) / math.sqrt(len(mine) * len(theirs)))
    return best


@lru_cache(maxsize=1024)
def _rubric_concepts(
    references: tuple[str, ...], keywords: tuple[str, ...], expansion: Expansion
) -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    """(each model-answer concept -> the concepts an answer may use for it, every concept an
    answer may use for a word of the model answers or the rubric)."""
    ref: dict[str, set[str]] = {}
    for r in references:
        for t in tokens(r):
            if is_content(t):
                ref.setdefault(t.concept, set()).update(expand(t.word, expansion))
    everything = {c for accepted in ref.values() for c in accepted}
    for k in keywords:
        for alt in k.split("|"):
            for t in tokens(alt):
                if is_content(t):
                    everything.update(expand(t.word, expansion))
    return {c: frozenset(a) for c, a in ref.items()}, frozenset(everything)


def features(rubric: Rubric, answer: str) -> dict[str, float]:
    toks = tokens(answer)
    n = len(toks)
    references = tuple(rubric.reference_answers or [" ".join(rubric.keywords)])
    symmetric = rubric.expansion if rubric.expansion.symmetric else None
    matches = [match_idea(idea, toks, symmetric) for idea in rubric.ideas]
    false_hit = any(
        match_idea(f, toks, symmetric, opposites=False).hit for f in rubric.false_statements
    )
    content_tokens = [t for t in toks if is_content(t)]
    ref_accepted, all_accepted = _rubric_concepts(
        references, tuple(rubric.keywords), rubric.expansion
    )
    answer_concepts = {t.concept for t in content_tokens}
    answer_reach = set(answer_concepts)
    if symmetric is not None:
        for t in content_tokens:
            answer_reach |= expand(t.word, symmetric)
    ref_prefixes = {c[:4] for c in ref_accepted}
    recall_prefix = (
        len({c[:4] for c in answer_concepts} & ref_prefixes) / len(ref_prefixes)
        if ref_prefixes
        else 0.0
    )
    recalled = sum(
        bool(accepted & answer_concepts) or (symmetric is not None and concept in answer_reach)
        for concept, accepted in ref_accepted.items()
    )
    ref_recall = recalled / len(ref_accepted) if ref_accepted else 0.0
    on_topic = {
        t.concept
        for t in content_tokens
        if t.concept in all_accepted
        or (symmetric is not None and expand(t.word, symmetric) & ref_accepted.keys())
    }
    precision = len(on_topic) / len(answer_concepts) if answer_concepts else 0.0
    chars = char_similarity(answer, references) if n else 0.0
    function_ratio = sum(t.function for t in toks) / n if n else 0.0
    # A list of terms has almost no function words, or is chopped up by commas/semicolons
    # ("B-tree, sorted, scan, rows"): a short sentence ("plants use light to make sugar") has
    # few function words but no list structure.
    separators = len(_SEPARATOR.findall(answer)) / n if n else 0.0
    fluency = min(function_ratio / 0.2, 1.0) * (1.0 - min(max(separators - 0.1, 0.0) / 0.15, 1.0))
    connectives = min(sum(t.word in _CONNECTIVES for t in toks) / 2, 1.0)
    ideas = sum(m.hit for m in matches) / len(matches) if matches else ref_recall
    soft = sum(m.soft for m in matches) / len(matches) if matches else ref_recall
    contradicted = sum(m.contradicted for m in matches) / len(matches) if matches else 0.0
    in_other_words = [match_idea(idea, toks, ANSWER_SIDE, opposites=False) for idea in rubric.ideas]
    rr_sym = _symmetric_recall(references, content_tokens)
    soft_sym = (
        sum(m.soft for m in in_other_words) / len(in_other_words) if in_other_words else rr_sym
    )
    return {
        "ideas": ideas,
        "ideas_soft": soft,
        "contradicted": contradicted,
        "false": float(false_hit),
        "ref_recall": ref_recall,
        "ref_precision": precision,
        "chars": chars,
        "fluency": fluency,
        "connectives": connectives,
        "length": min(math.log1p(n) / math.log(60), 1.0),
        "dont_know": float(bool(_DONT_KNOW.search(normalise(answer)))),
        "ideas_fluent": ideas * fluency,
        "recall_fluent": ref_recall * fluency,
        "length_on_topic": min(math.log1p(n) / math.log(60), 1.0) * min(precision / 0.3, 1.0),
        "recall_prefix": recall_prefix,
        "ideas_count": min(sum(m.hit for m in matches) / 2, 1.0),
        "ideas_sym": (
            sum(m.hit for m in in_other_words) / len(in_other_words) if in_other_words else rr_sym
        ),
        "soft_sym": soft_sym,
        "rr_sym": rr_sym,
        "rr_sym_fluent": rr_sym * fluency * (1.0 - contradicted),
        "soft_sym_fluent": soft_sym * fluency * (1.0 - contradicted),
    }


@lru_cache(maxsize=1024)
def _reference_reach(references: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """Each model-answer concept -> the concepts an answer may use for it (``ANSWER_SIDE``)."""
    out: dict[str, frozenset[str]] = {}
    for r in references:
        for t in tokens(r):
            if is_content(t):
                out.setdefault(t.concept, expand(t.word, ANSWER_SIDE))
    return out


def _symmetric_recall(references: tuple[str, ...], answer: list[Token]) -> float:
    """Share of the model answers' concepts the answer states, WordNet on both sides."""
    ref = _reference_reach(references)
    if not ref:
        return 0.0
    concepts = {t.concept for t in answer}
    reach: set[str] = set()
    for t in answer:
        reach |= expand(t.word, ANSWER_SIDE)
    return sum(bool(accepted & concepts) or c in reach for c, accepted in ref.items()) / len(ref)


def vector(rubric: Rubric, answer: str) -> np.ndarray:
    return as_vector(features(rubric, answer))


def as_vector(values: dict[str, float]) -> np.ndarray:
    return np.array([values[name] for name in FEATURES], dtype=float)


def matched_ideas(rubric: Rubric, answer: str) -> tuple[list[str], list[str]]:
    """(stated, not stated) idea labels, for the grader's own use (review queue), never the
    learner's feedback."""
    toks = tokens(answer)
    symmetric = rubric.expansion if rubric.expansion.symmetric else None
    stated: list[str] = []
    missing: list[str] = []
    for idea in rubric.ideas:
        (stated if match_idea(idea, toks, symmetric, opposites=False).hit else missing).append(
            idea.label
        )
    return stated, missing
