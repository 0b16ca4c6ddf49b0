"""Text normalisation for the free-text grader: tokens, light stemming, synonyms, negation scope.

Everything here is deterministic, so a rubric phrase and an answer are reduced the same way:

* ``b-tree``, ``b tree`` and ``btree`` become one token (hyphens and a split single letter are
  joined); ``all-or-nothing`` and ``all or nothing`` become the same token sequence;
* a light suffix stemmer maps ``identifies``/``identify``/``identified`` and
  ``scanning``/``scans`` to one stem (no dictionary: both sides are stemmed alike, so a
  crude stem is enough);
* a small table of everyday English synonym groups (``fast``/``quick``/``rapid``,
  ``rise``/``increase``/``go up``) maps words to one concept; it is deliberately generic
  (no subject's vocabulary) and holds links WordNet lacks (``buyer``/``customer``,
  ``prison``/``jail``); ``expand`` adds what WordNet relates to a rubric word
  (``repo_ai.grading_wordnet``);
* negation cues (``not``, ``n't``, ``no``, ``never``, ``without``, ``instead of``, ``avoid``
  ...) flip the polarity of what follows them in the same clause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from repo_ai.grading_wordnet import SHIPPED, Expansion, antonyms, related

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[.;:!?,()]")
_CLAUSE_PUNCT = frozenset(".;:!?,()")
#: Words that end a negation's scope (a new clause starts after them).
_CLAUSE_WORDS = frozenset(
    "but however whereas while although though yet because since so therefore thus which "
    "who whose where when then".split()
)
#: Function words: they carry grammar, not content (also the "fluency" signal: a keyword
#: list has almost none of them).
FUNCTION_WORDS = frozenset(
    """a an the this that these those it its it's they them their there here he she his her
    we our you your i me my of in on at to for from by with as into onto about over under
    than then so and or if because since while when where which who whom whose what how why
    is are was were be been being am do does did doing done has have had having can could
    will would shall should may might must also just only very too such some any one each
    both either not no nor never n't up down out off again once""".split()
)
#: Content words that are still too common to count as evidence of an idea.
_WEAK = frozenset("thing things something way really actually lot lots get gets got make".split())
#: Plain negators; with the avoidance words below they make ``NEGATION_CUES``.
STRONG_NEGATIONS = frozenset("not no never n't nothing none nobody neither nor cannot".split())
NEGATION_CUES = STRONG_NEGATIONS | frozenset(
    """without instead rather avoid avoids avoided avoiding skip skips skipped skipping
    unnecessary stop stops stopped prevent prevents prevented""".split()
)
#: Multi-word expressions rewritten before tokenising (left: pattern; right: replacement).
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b{p}\b"), r)
    for p, r in (
        (r"can ?not", "can not"),
        (r"can't|cant", "can n't"),
        (r"won't|wont", "will n't"),
        (r"dos[ea]nt", "does n't"),
        (r"(do|does|did|is|are|was|were|has|have|had|would|could|should)n'?t", r"\1 n't"),
        (r"instead of", "instead"),
        (r"rather than", "rather"),
        (r"no longer", "not"),
        (r"go(?:es|ing)? up", "increase"),
        (r"go(?:es|ing)? down", "decrease"),
        (r"went up", "increase"),
        (r"went down", "decrease"),
        (r"o ?\( ?log ?n ?\)|log ?\( ?n ?\)|log ?n\b", "logarithmic"),
    )
)
#: Everyday synonym groups (first word is the concept's name). Generic English only.
_SYNONYM_GROUPS = """
fast quick quickly rapid rapidly speedy swift faster quicker sooner
slow slowly slower sluggish
big large huge great bigger larger
small little tiny smaller
many lots multiple several numerous plenty
increase rise rises rising rose risen grow grows growing grew climb climbs climbing higher raise
increase raised boost
decrease fall falls falling fell drop drops dropping dropped decline declines lower reduce
decrease reduced shrink
begin start starts started beginning
end finish finished stop stops stopped
buy buys bought purchase purchases purchasing
buyer buyers customer customers consumer consumers shopper shoppers purchaser purchasers
seller sellers vendor vendors supplier suppliers merchant merchants shop shops
price prices cost costs
same identical equal equally alike
different differ differs differed difference differences distinct vary varies varied
different variation variations
child children offspring young baby babies kid kids descendant descendants
parent parents mother father ancestor ancestors
survive survives survived survival live lives alive
people persons humans
king monarch ruler crown sovereign
rule rules law laws legal
prison jail jailed imprison imprisoned imprisonment
steal steals stole stolen theft leak leaked leaks breach
attacker attackers hacker hackers criminal criminals intruder intruders thief thieves
check checks checked verify verifies verified compare compares compared
find finds found locate locates look search searches
every each all whole entire
ordered order sorted arranged sequence
important significant crucial
cause causes caused lead leads result results
use uses used using utilise utilize
show shows showed demonstrate
need needs needed require requires required must
store stores stored save saved keep keeps kept
"""


def _groups() -> dict[str, str]:
    table: dict[str, str] = {}
    for line in _SYNONYM_GROUPS.strip().splitlines():
        words = line.split()
        for word in words:
            table.setdefault(stem(word), stem(words[0]))
    return table


_IRREGULAR = {"better": "good", "best": "good", "worse": "bad", "worst": "bad", "less": "few"}


@lru_cache(maxsize=20000)
def stem(word: str) -> str:
    """A light English suffix stemmer (plural, verb and adverb endings; ``-er``/``-est``)."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + repl
    for suffix in ("ingly", "edly", "ing", "ed", "ly", "est", "er", "es", "s"):
        if not word.endswith(suffix):
            continue
        base = word[: -len(suffix)]
        if len(base) < 3 or suffix == "s" and word.endswith(("ss", "us", "is")):
            continue
        if suffix == "es" and not base.endswith(("s", "x", "z", "ch", "sh", "o")):
            base = word[:-1]  # "makes" -> "make" -> below
        if len(base) >= 4 and base[-1] == base[-2] and base[-1] not in "lsz":
            base = base[:-1]  # "scanning" -> "scan"
        return _final_e(base)
    return _final_e(word)


def _final_e(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


@dataclass(frozen=True, slots=True)
class Token:
    word: str  # the lower-cased surface form
    concept: str  # the stem, mapped through the synonym groups
    clause: int  # index of the clause (negation scope) the token is in
    sentence: int
    negation: bool  # a negation cue: flips the polarity of its clause
    strong: bool  # a plain negator (``not``), not an avoidance word (``avoid``, ``without``)
    function: bool


def normalise(text: str) -> str:
    """Lower-case, join hyphenated compounds and split single letters (``b-tree``, ``b tree``
    -> ``btree``; ``all-or-nothing`` -> ``all or nothing``), expand contractions and a few
    multi-word expressions."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"(?<![\w'])([a-z])-([a-z]{2,})\b", r"\1\2", text)  # b-tree, e-mail
    text = re.sub(r"(?<![\w'])([b-hj-z]) ([a-z]{2,})\b", r"\1\2", text)  # b tree (not a, i)
    text = re.sub(r"(?<=[a-z0-9])-(?=[a-z0-9])", " ", text)  # all-or-nothing, one-way
    for pattern, repl in _PHRASES:
        text = pattern.sub(repl, text)
    return text


@lru_cache(maxsize=4096)
def tokens(text: str) -> tuple[Token, ...]:
    synonyms = _SYNONYMS
    out: list[Token] = []
    clause = sentence = 0
    for raw in _TOKEN.findall(normalise(text)):
        if raw in _CLAUSE_PUNCT:
            clause += 1
            sentence += raw in ".;:!?"
            continue
        if raw in _CLAUSE_WORDS:
            clause += 1
        word = raw.replace("'", "") if raw != "n't" else raw
        base = stem(word)
        out.append(
            Token(
                word=word,
                concept=synonyms.get(base, base),
                clause=clause,
                sentence=sentence,
                negation=word in NEGATION_CUES,
                strong=word in STRONG_NEGATIONS,
                function=word in FUNCTION_WORDS or word in NEGATION_CUES,
            )
        )
    return tuple(out)


def is_content(token: Token) -> bool:
    return not token.function and token.word not in _WEAK and len(token.word) > 1


def concept(word: str) -> str:
    base = stem(word)
    return _SYNONYMS.get(base, base)


@lru_cache(maxsize=50000)
def expand(word: str, expansion: Expansion = SHIPPED) -> frozenset[str]:
    """The concepts an answer may use for ``word``: its own, and those of the words WordNet
    relates to it under ``expansion`` (function words and weak words left out: "be" is a
    WordNet synonym of "cost")."""
    out = {concept(word)}
    if word in FUNCTION_WORDS or word in _WEAK or word in NEGATION_CUES:
        return frozenset(out)
    out.update(
        concept(w)
        for w in related(word, expansion)
        if w not in FUNCTION_WORDS and w not in _WEAK and w not in NEGATION_CUES and len(w) > 2
    )
    return frozenset(out)


#: Opposite concepts of the synonym groups above (WordNet links the words, not the groups).
_OPPOSITE_GROUPS = (
    ("increase", "decrease"),
    ("fast", "slow"),
    ("big", "small"),
    ("same", "different"),
)


@lru_cache(maxsize=50000)
def opposites(word: str) -> frozenset[str]:
    """The concepts that state the opposite of ``word``: its WordNet antonyms (``rise`` ->
    ``fall``), and the opposite synonym group (``climbs`` -> ``decrease``). Function words,
    weak words and negation cues have none (their polarity is the negation scope's job)."""
    if word in FUNCTION_WORDS or word in _WEAK or word in NEGATION_CUES:
        return frozenset()
    mine = concept(word)
    out = {concept(w) for w in antonyms(word) if w not in FUNCTION_WORDS and len(w) > 2}
    out.update(b for a, b in _OPPOSITE_PAIRS if a == mine)
    out.discard(mine)
    return frozenset(out)


def content_concepts(text: str) -> list[str]:
    return [t.concept for t in tokens(text) if is_content(t)]


_SYNONYMS = _groups()
_OPPOSITE_PAIRS = frozenset(
    (concept(a), concept(b)) for pair in _OPPOSITE_GROUPS for a, b in (pair, pair[::-1])
)
