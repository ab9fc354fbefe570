"""The term index: every wording of every code, keyed so that notes can find it.

Each code contributes its description, the description without parenthetical
non-essential modifiers, its aliases (inclusion terms), and for ICD-10-PCS the
description without the approach/device/qualifier tail ("Resection of Right
Kidney, Open Approach" -> "Resection of Right Kidney"), because notes name the
operation and the body part, rarely the approach. Terms are stored by their
order-free key (:func:`normalize.bag_key`), and each term of two or more words
also under its rarest word, for window matching.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

from tqdm import tqdm

from ..codesets import Code, CodeCatalog, CodeSystem
from .normalize import bag_key, content_words

_PAREN_RE = re.compile(r"\s*(\([^)]*\)|\[[^\]]*\])")
_COMMA_HEAD_RE = re.compile(r"^([^,]+),")
_PCS_TAIL_RE = re.compile(r",.*$|\s+(?:with|using|via)\s+.*$", re.IGNORECASE)
_SIDE_RE = re.compile(r"\b(right|left|bilateral)\b", re.IGNORECASE)
# "without ..." names the default a note need not state: "Laceration without foreign body of left
# index finger without damage to nail" is what a note calls "laceration of left index finger"
_WITHOUT_RE = re.compile(r"\s+without\s+(?:(?!\bof\b)[^,])*?(?=\s+of\s|,|$)", re.IGNORECASE)
MAX_TERM_WORDS = 8
# an eponym a title gives in brackets, "Mucocutaneous lymph node syndrome [Kawasaki]": notes say "Kawasaki
# disease" (or syndrome); not an abbreviation ("[HIV]", "[IgA]") nor a synonym of several words
_EPONYM_RE = re.compile(r"\[([A-Z][a-zäéöü]+(?:-[A-Z][a-zäéöü]+)*)\]")


FILLER_RE = re.compile(r"\b(other|unspecified|specified|nos|nec)\b", re.IGNORECASE)
SIDE_QUALITY = 0.9  # a wording that only matched once the side (right/left/bilateral) was dropped
HEAD_QUALITY = 0.9  # the part before the first comma ("Splenomegaly, not elsewhere classified")
FILLER_QUALITY = 0.9  # a wording that only matched once "other", "unspecified"... were dropped
DEFAULT_CHILD_QUALITY = 0.85  # the billable "unspecified" child of a matched category


@dataclass(frozen=True, slots=True)
class Term:
    words: tuple[str, ...]  # distinct content words, in order
    codes: tuple[tuple[str, str, float], ...]  # (system, code, quality in (0, 1])
    text: str  # a readable wording of the term (the first one seen)


def curated_aliases() -> dict[tuple[str, str], list[str]]:
    """``resources/code_aliases.tsv``: wordings notes use that the tabular list lacks."""
    table: dict[tuple[str, str], list[str]] = defaultdict(list)
    text = resources.files(__package__).joinpath("resources/code_aliases.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            system, code, alias = (part.strip() for part in line.split("\t"))
            table[(system, code)].append(alias)
    return table


def not_terms() -> frozenset[str]:
    """``resources/not_terms.tsv``: words that name no condition by themselves (lower case)."""
    text = resources.files(__package__).joinpath("resources/not_terms.tsv").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def term_variants(code: Code, extra: list[str] = (), excluded_heads: frozenset[str] = frozenset()) -> list[tuple[str, float]]:
    """The wordings a note may use for this code (before normalisation), each with a quality:
    1.0 for the code's own wording, less for a wording that dropped part of it."""
    plain = _PAREN_RE.sub("", code.description)
    variants = [(code.description, 1.0), *((a, 1.0) for a in (*code.aliases, *extra)), (plain, 1.0)]
    if code.system is CodeSystem.ICD10PCS:
        core = _PCS_TAIL_RE.sub("", plain)
        variants += [(core, 1.0), (_SIDE_RE.sub(" ", core), SIDE_QUALITY)]
    else:
        variants += [(f"{name} {noun}", 1.0) for name in _EPONYM_RE.findall(code.description) for noun in ("disease", "syndrome")]
        variants += [(_SIDE_RE.sub(" ", text), SIDE_QUALITY) for text in (plain, *extra) if _SIDE_RE.search(text)]
        if code.code[0] == "S" and (bare := _WITHOUT_RE.sub("", plain)) != plain:
            variants.append((bare, DEFAULT_CHILD_QUALITY))
        head = _COMMA_HEAD_RE.match(plain)  # "Splenomegaly, not elsewhere classified" -> "Splenomegaly"
        if (
            head
            and len(head.group(1).split()) <= 3
            and code.code[0] not in "VWXYOP"  # not external causes, pregnancy or newborn codes by a bare head
            and head.group(1).strip().lower() not in excluded_heads
        ):
            variants.append((head.group(1), HEAD_QUALITY))
    best: dict[str, float] = {}
    for text, quality in variants:
        text = " ".join(text.split())
        if FILLER_RE.search(text):
            quality *= FILLER_QUALITY
        if text and quality > best.get(text, 0.0):
            best[text] = quality
    return list(best.items())


class TermIndex:
    """Order-free term keys -> codes, plus a rarest-word index for window matching."""

    def __init__(
        self,
        terms: dict[str, Term],
        versions: dict[str, str],
        descriptions: dict[tuple[str, str], str],
        siblings: dict[str, tuple[str, ...]] | None = None,
    ):
        self.terms = terms  # bag key -> Term
        self.siblings = siblings or {}  # ICD-10-CM parent code -> its billable children
        self.descriptions = descriptions  # (system, code) -> description, so matching needs no catalogue
        self.versions = dict(versions)
        df = Counter(w for t in terms.values() for w in t.words)
        # multi-word terms by their rarest, then second-rarest word (with their order, to keep it)
        by_rarest: dict[str, dict[str, list[tuple[int, str, frozenset[str]]]]] = defaultdict(dict)
        for order, (key, term) in enumerate(terms.items()):
            if len(term.words) >= 2:
                rarest, second = sorted(term.words, key=lambda w: (df[w], w))[:2]
                by_rarest[rarest].setdefault(second, []).append((order, key, frozenset(term.words)))
        self.by_rarest = dict(by_rarest)

    @classmethod
    def build(cls, catalog: CodeCatalog, progress: bool = False) -> "TermIndex":
        grouped: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
        defaults = default_children(catalog)
        curated = curated_aliases()
        excluded = not_terms()
        words_of: dict[str, tuple[str, ...]] = {}
        text_of: dict[str, str] = {}
        codes: Iterable[Code] = catalog
        if progress:
            codes = tqdm(codes, total=len(catalog), desc="term index", unit="code")
        for code in codes:
            for variant, quality in term_variants(code, curated.get(code.key, []), excluded):
                words = tuple(dict.fromkeys(content_words(variant)))
                if not words or len(words) > MAX_TERM_WORDS:
                    continue
                key = bag_key(list(words))
                _keep_best(grouped[key], code.key, quality)
                for child in defaults.get(code.key, ()):
                    _keep_best(grouped[key], child, quality * DEFAULT_CHILD_QUALITY)
                words_of.setdefault(key, words)
                text_of.setdefault(key, variant)
        billable = {code.key for code in catalog if code.billable}
        terms = {
            k: Term(words_of[k], tuple((s, c, q) for (s, c), q in sorted(_unshadowed(v, billable).items(), key=lambda kv: -kv[1])), text_of[k])
            for k, v in grouped.items()
        }
        descriptions = {code.key: code.description for code in catalog}
        return cls(terms, catalog.versions, descriptions, billable_children(catalog))

    def parent_of(self, code: str) -> str | None:
        """ICD-10-CM parent: the code one character shorter (``N28.89`` -> ``N28.8``)."""
        parent = code[:-1].rstrip(".")
        return parent if len(parent) >= 3 and parent in self.siblings else None

    @cached_property
    def longest_term_with(self) -> dict[str, int]:
        """Word -> the most words of a term that has it (absent: no term has it). Exact matching
        stops growing a window once its distinct words outnumber this for one of them."""
        longest: dict[str, int] = {}
        for term in self.terms.values():
            for word in term.words:
                longest[word] = max(longest.get(word, 0), len(term.words))
        return longest

    def partial_terms(self, systems: frozenset[str]) -> "PartialTerms":
        """The terms of two or more words with a code of ``systems``, by their rarest word, with IDF
        word weights, for partial matching (:func:`matcher.match_partial`); built on first use."""
        cache = self.__dict__.setdefault("_partial_terms", {})  # not in pickles made before it existed
        if systems not in cache:
            cache[systems] = PartialTerms.build(self.terms, systems)
        return cache[systems]

    def get(self, key: str) -> Term | None:
        return self.terms.get(key)

    def triggered_by(self, word: str, present: set[str]) -> list[tuple[int, str, frozenset[str]]]:
        """Terms of two or more words whose rarest word is ``word`` and whose second-rarest word
        is in ``present``: ``(order, key, words)`` in index order."""
        by_second = self.by_rarest.get(word)
        if not by_second:
            return []
        if len(by_second) < len(present):
            found = [e for second, entries in by_second.items() if second in present for e in entries]
        else:
            found = [e for second in present for e in by_second.get(second, ())]
        if len(found) > 1:
            found.sort()
        return found


@dataclass(frozen=True, slots=True)
class PartialTerms:
    """``by_rarest``: word -> the terms of two or more words whose rarest word it is, each as
    ``(key, words, word set, total weight, the rarest word's share of it)``; ``weight``: word -> its IDF over the terms
    (``log(terms / terms with the word)``), so that a wording's rare words ("spermatocele") weigh
    more than its common ones ("epididymis", "unspecified")."""

    by_rarest: dict[str, tuple[tuple[str, tuple[str, ...], frozenset[str], float, float], ...]]
    weight: dict[str, float]

    @classmethod
    def build(cls, terms: dict[str, Term], systems: frozenset[str]) -> "PartialTerms":
        df = Counter(w for t in terms.values() for w in t.words)
        n = len(terms) + 1
        weight = {w: math.log(n / k) for w, k in df.items()}
        by_rarest: dict[str, list] = defaultdict(list)
        for key, term in terms.items():
            if len(term.words) >= 2 and any(system in systems for system, _, _ in term.codes):
                rarest = min(term.words, key=lambda w: (df[w], w))
                total = sum(weight[w] for w in term.words)
                by_rarest[rarest].append((key, term.words, frozenset(term.words), total, weight[rarest] / total))
        return cls({w: tuple(entries) for w, entries in by_rarest.items()}, weight)


def _keep_best(codes: dict[tuple[str, str], float], key: tuple[str, str], quality: float) -> None:
    if quality > codes.get(key, 0.0):
        codes[key] = quality


def _unshadowed(codes: dict[tuple[str, str], float], billable: set[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """The codes of one wording, less the ICD-10-CM headers it names only once shortened when a
    billable code has it as a whole wording: the index sends "pain" to R52 "Pain, unspecified",
    not to G89 "Pain, not elsewhere classified" (whose codes need "acute", "chronic", ...)."""
    if not any(q >= 1.0 and key[0] == "ICD10CM" and key in billable for key, q in codes.items()):
        return codes
    return {key: q for key, q in codes.items() if q >= 1.0 or key[0] != "ICD10CM" or key in billable}


def default_children(catalog: CodeCatalog) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """For each non-billable ICD-10-CM code, the billable code a coder falls back to when the
    note says no more (the "unspecified" / "without complications" descendant)."""
    children: dict[str, list[Code]] = defaultdict(list)
    for code in catalog.codes_of(CodeSystem.ICD10CM):
        if code.parent:
            children[code.parent].append(code)
    fallback = re.compile(r"unspecified|without complication", re.IGNORECASE)

    def resolve(code: Code, depth: int = 0) -> list[tuple[str, str]]:
        if code.billable or depth > 3:
            return [code.key] if code.billable else []
        kids = [c for c in children.get(code.code, []) if fallback.search(c.description)]
        return [k for kid in kids[:2] for k in resolve(kid, depth + 1)]

    return {
        code.key: resolved
        for code in catalog.codes_of(CodeSystem.ICD10CM)
        if not code.billable and (resolved := resolve(code))
    }


def billable_children(catalog: CodeCatalog) -> dict[str, tuple[str, ...]]:
    """ICD-10-CM parent -> its billable children (for sibling candidates: the note says
    "renal ectasia", the coder picks N28.89 "other specified disorders of kidney")."""
    children: dict[str, list[str]] = defaultdict(list)
    for code in catalog.codes_of(CodeSystem.ICD10CM):
        if code.parent and code.billable:
            children[code.parent].append(code.code)
    return {parent: tuple(kids) for parent, kids in children.items()}
