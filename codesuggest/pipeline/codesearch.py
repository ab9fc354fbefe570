"""Code search as a coder types it: "fracture of hip", "subcapital", "old MI", "laparoscopic cholecystectomy".

Every wording of a code is searched, not only its title: the tabular list's inclusion terms (on the code and
inherited from its parents: "Subcapital fracture of femur" sits on S72.01, its codes are S72.011A ...), the
index wordings of ``resources/code_aliases.tsv`` and ``resources/search_terms.tsv`` (the ICD-10-CM alphabetic
index's entries coders type, such as "history of myocardial infarction" for I25.2; the index itself is not
shipped with the code sets this project loads). Words go through the pipeline's normalisation (synonyms to
code-set wording, stop words out, a light stemmer) so word order does not matter, abbreviations are expanded
("MI", "lap chole"), and the last word is a prefix (type-ahead).

Ranking: a code scores by its best-matching wording: how much of that wording the query covers (a short
wording all typed beats a long one partly typed), its kind (title and inclusion terms before inherited ones),
then billable codes before categories, then the code itself.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from ..codesets import CodeCatalog, CodeSystem
from ..codesets.records import Code
from .matcher import curated_abbreviations
from .normalize import content_words
from .terminology import curated_aliases

# what a coder types that the code sets say otherwise (query side only; both sides share synonyms.tsv)
QUERY_WORDS = {
    "calculous": "calculus", "laparoscopic": "percutaneous endoscopic", "laparoscopically": "percutaneous endoscopic",
    "lap": "percutaneous endoscopic", "chole": "cholecystectomy", "hx": "history", "fx": "fracture", "fxs": "fracture",
    "arthroscopic": "percutaneous endoscopic",
}
OWN, INDEX, INHERITED = 1.0, 0.95, 0.85  # the weight of a wording by where it comes from


@dataclass(frozen=True, slots=True)
class _Wording:
    system: str
    code: str
    words: frozenset[str]
    weight: float


@lru_cache(maxsize=1)
def search_terms() -> dict[tuple[str, str], list[str]]:
    """``resources/search_terms.tsv``: index entries coders type, by (system, code)."""
    table: dict[tuple[str, str], list[str]] = defaultdict(list)
    text = resources.files(__package__).joinpath("resources/search_terms.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            system, code, wording = (part.strip() for part in line.split("\t", 2))
            table[(system, code)].append(wording)
    return dict(table)


class CodeSearcher:
    """Ranked search over every wording of every loaded code (built once per catalogue: seconds)."""

    def __init__(self, catalog: CodeCatalog):
        self.catalog = catalog
        self._wordings: list[_Wording] = []
        postings: dict[str, list[int]] = defaultdict(list)
        extra: dict[tuple[str, str], list[str]] = defaultdict(list)
        for source in (curated_aliases(), search_terms()):
            for key, wordings in source.items():
                extra[key].extend(wordings)
        for system in catalog.systems:
            for code in catalog.codes_of(system):
                title = frozenset(content_words(code.description))
                for text, weight in self._texts(code, extra):
                    words = frozenset(content_words(text))
                    if weight == INHERITED:  # the parent's term with this code's own words: "subcapital right closed"
                        words |= title
                    if not words:
                        continue
                    index = len(self._wordings)
                    self._wordings.append(_Wording(code.system.value, code.code, words, weight))
                    for word in words:
                        postings[word].append(index)
        self._postings = dict(postings)
        self._sorted_words = sorted(self._postings)
        self._abbreviations = {k.upper(): v for k, v in curated_abbreviations().items()}

    def _texts(self, code: Code, extra: dict[tuple[str, str], list[str]]):
        yield code.description, OWN
        for alias in code.aliases:
            yield alias, OWN
        for alias in extra.get((code.system.value, code.code), ()):
            yield alias, INDEX
        if code.system is CodeSystem.ICD10CM:  # inclusion terms apply to the codes below them
            for parent in self.catalog.ancestors(code)[:4]:
                for alias in (*parent.aliases, *extra.get((parent.system.value, parent.code), ())):
                    yield alias, INHERITED

    def readings(self, query: str) -> list[list[str]]:
        """The query's normalised words: with abbreviations expanded ("old MI"), and as typed."""
        tokens = re.findall(r"[A-Za-z0-9]+", query)
        typed = [QUERY_WORDS.get(t.lower(), t) for t in tokens]
        expanded = [self._abbreviations.get(t.upper(), t) if len(t) >= 2 and t.lower() not in QUERY_WORDS else t
                    for t in typed]
        out = []
        for words in (expanded, typed):
            normalised = content_words(" ".join(words).lower())
            if normalised and normalised not in out:
                out.append(normalised)
        return out

    def _postings_of(self, word: str, prefix: bool) -> set[int]:
        found = set(self._postings.get(word, ()))
        if prefix:
            start = bisect.bisect_left(self._sorted_words, word)
            for w in self._sorted_words[start : start + 300]:
                if not w.startswith(word):
                    break
                found.update(self._postings[w])
        return found

    def search(self, query: str, system: CodeSystem | None = None, limit: int = 20) -> list[Code]:
        """Codes by a code prefix (``E11.6``, ``e116``) or by words, best first."""
        by_code = self._by_code(query, system, limit)
        if by_code:
            return by_code
        typing = bool(re.search(r"[A-Za-z0-9]$", query))  # the last word may be unfinished
        wanted = system.value if system is not None else None
        best: dict[tuple[str, str], float] = {}
        for words in self.readings(query):
            matches: set[int] | None = None
            for i, word in enumerate(words):
                found = self._postings_of(word, prefix=typing and i == len(words) - 1)
                matches = found if matches is None else matches & found
                if not matches:
                    break
            for index in matches or ():
                wording = self._wordings[index]
                if wanted is not None and wording.system != wanted:
                    continue
                coverage = min(1.0, len(set(words)) / max(1, len(wording.words)))
                score = wording.weight * (0.5 + 0.5 * coverage)
                key = (wording.system, wording.code)
                if score > best.get(key, 0.0):
                    best[key] = score
        codes = [(score, self.catalog.get(s, c)) for (s, c), score in best.items()]
        codes.sort(key=lambda sc: (-round(sc[0], 3), not sc[1].billable, len(sc[1].code), sc[1].code))
        return [c for _, c in codes[:limit]]

    def _by_code(self, query: str, system: CodeSystem | None, limit: int) -> list[Code]:
        compact = re.sub(r"[\s.]", "", query).upper()
        if re.fullmatch(r"[A-Z0-9]{1,7}", compact) and any(ch.isdigit() for ch in compact):
            return self.catalog.search(query, system, limit)
        return []


@lru_cache(maxsize=4)
def searcher_for(catalog: Any) -> CodeSearcher:
    """One searcher per loaded catalogue (the service keeps one catalogue)."""
    return CodeSearcher(catalog)


__all__ = ["CodeSearcher", "searcher_for", "search_terms"]
