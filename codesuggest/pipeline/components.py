"""spaCy components of the codesuggest pipeline, registered by name.

- ``codesuggest_sentences``: sentence starts at line breaks and after . ? !
  (PyRuSH is accurate but ~150 ms a note; this is ~1 ms and CodiEsp-style and
  US-style notes break at lines anyway).
- ``codesuggest_mentions``: diagnosis and procedure mentions with candidate
  codes, into ``doc.spans["mentions"]``; each span's ``._.candidates`` holds
  its :class:`~codesuggest.pipeline.schema.Candidate` tuple and
  ``._.expanded`` the long form of an abbreviation it contains.
"""


import re
import threading

import numpy
from spacy.attrs import SENT_START
from spacy.language import Language
from scispacy.abbreviation import AbbreviationDetector
from spacy.tokens import Doc, Span

from ..codesets.systems import mention_kind
from .matcher import RawMention, Word, match_partial, match_sentence, merge_nested, sentence_words, uncovered_runs
from .resources import load_term_index
from .schema import Candidate
from .terminology import TermIndex

MENTIONS = "mentions"
if not Span.has_extension("candidates"):
    Span.set_extension("candidates", default=())
if not Span.has_extension("expanded"):
    Span.set_extension("expanded", default=None)
if not Span.has_extension("is_status"):
    Span.set_extension("is_status", default=False)  # its best candidates are Z codes (history, status)

_SENT_END = frozenset(".?!")


@Language.component("codesuggest_sentences")
def split_sentences(doc: Doc) -> Doc:
    """Sentence starts after a line break and after . ? ! (set in one array: setting
    ``Token.is_sent_start`` one token at a time is quadratic in spaCy)."""
    starts = numpy.full((len(doc), 1), -1, dtype="int64")
    previous = None
    for i, token in enumerate(doc):
        if previous is None:
            starts[i, 0] = 1
        elif not token.is_space and (
            (previous.is_space and "\n" in previous.text) or (previous.text in _SENT_END and not token.is_punct)
        ):
            starts[i, 0] = 1
        previous = token
    if len(doc):
        doc.from_array([SENT_START], starts.astype("uint64"))  # spaCy's array type; -1 wraps and back
    return doc


@Language.factory(
    "codesuggest_mentions",
    default_config={
        "index_path": "",
        "max_candidates_per_mention": 40,
        "max_candidates_per_note": 300,
        "min_similarity": 0.4,
        "sibling_factor": 0.6,
        "max_siblings": 12,
        "ann_dir": "",
        "ann_k": 5,
        "ann_min_similarity": 0.8,
        "ann_ef_search": 16,  # HNSW search breadth: 16 keeps 98.5 % of the candidates of 64 at 1.5x the speed
        "expansion_factor": 0.3,
        "pcs_expansion_factor": 0.0,  # off: P candidate recall +0.07, ranker MAP P lower (OOF 0.498 -> 0.485; BENCHMARKS)
        "max_category_codes": 100,
        # off. PCS only at 0.6 with cap_per_system: dev candidate recall P 0.717 -> 0.783 (unseen in train
        # 0.20 -> 0.40), 76 -> 142 P candidates a note; dev MAP P +0.024 (se 0.008), out-of-fold P +0.0075
        # (se 0.0052, up in 3 of 3 seeds), D -0.0013; ranker ~30% and pipeline ~19% slower. CM: D lower.
        "partial_factor": 0.0,
        "partial_min_coverage": 0.6,
        "partial_max_terms": 8,
        "partial_systems": "ICD10CM,ICD10PCS",
        "cap_per_system": False,  # off: alone, out-of-fold MAP D -0.0006, P -0.0014 (noise)
    },
)
def make_mention_matcher(
    nlp: Language,
    name: str,
    index_path: str,
    max_candidates_per_mention: int,
    max_candidates_per_note: int,
    min_similarity: float,
    sibling_factor: float,
    max_siblings: int,
    ann_dir: str,
    ann_k: int,
    ann_min_similarity: float,
    expansion_factor: float,
    pcs_expansion_factor: float,
    max_category_codes: int,
    ann_ef_search: int,
    partial_factor: float,
    partial_min_coverage: float,
    partial_max_terms: int,
    partial_systems: str,
    cap_per_system: bool,
):
    return MentionMatcher(
        index_path, max_candidates_per_mention, min_similarity, sibling_factor, max_siblings,
        ann_dir, ann_k, ann_min_similarity, max_candidates_per_note, expansion_factor, max_category_codes,
        pcs_expansion_factor, ann_ef_search, partial_factor, partial_min_coverage, partial_max_terms,
        partial_systems, cap_per_system,
    )


class MentionMatcher:
    """Finds mentions and their candidate codes; ICD-10-CM candidates bring their siblings
    (same parent, at most ``max_siblings``) at ``sibling_factor`` of their score, because
    coders often pick a more specific or "other specified" code than the note's wording.

    Each mention's candidates are then widened below the matched ones (scaled down so that they
    stay under ``min_similarity``, and kept only while the note's cap leaves room): an
    ICD-10-CM candidate brings the other codes of its three-character category (categories of
    at most ``max_category_codes`` codes) at ``expansion_factor`` of its score, an ICD-10-PCS
    candidate, at ``pcs_expansion_factor`` (higher: the cap favours them), one code for each
    four-character root (section, body system, operation, body part) that shares its first
    three characters, because notes name the operation but the body part or the imaging
    region the coder picks often differs from the wording matched ("CT scan" -> CT of chest
    and abdomen).

    With ``partial_factor`` > 0, each sentence also gets its ``partial_max_terms`` terms of
    ``partial_systems`` (comma-separated) said only in part (:func:`matcher.match_partial`: the
    rarest word and ``partial_min_coverage`` of the IDF weight), scored ``partial_factor`` times the
    coverage: for codes whose wording the note does not say in full, which exact and window
    matching cannot find. ``cap_per_system``: the note's cap (``max_candidates_per_note``) holds
    for each code system apart, so that one system's candidates do not crowd out the other's."""

    def __init__(
        self,
        index_path: str,
        max_candidates_per_mention: int,
        min_similarity: float,
        sibling_factor: float,
        max_siblings: int,
        ann_dir: str = "",
        ann_k: int = 5,
        ann_min_similarity: float = 0.7,
        max_candidates_per_note: int = 300,
        expansion_factor: float = 0.3,
        max_category_codes: int = 100,
        pcs_expansion_factor: float = 0.0,
        ann_ef_search: int = 16,
        partial_factor: float = 0.0,
        partial_min_coverage: float = 0.6,
        partial_max_terms: int = 8,
        partial_systems: str = "ICD10CM,ICD10PCS",
        cap_per_system: bool = False,
    ):
        if not index_path:
            raise ValueError("codesuggest_mentions needs index_path (see pipeline.resources.ensure_term_index)")
        self.index = load_term_index(index_path)
        self.index.longest_term_with  # noqa: B018  (built at load, not on the first note)
        self.max_candidates = max_candidates_per_mention
        self.max_per_note = max_candidates_per_note
        self.min_similarity = min_similarity
        self.sibling_factor = sibling_factor
        self.max_siblings = max_siblings
        self.approximate = (
            _approximate_matcher(self.index, ann_dir, ann_k, ann_min_similarity, ann_ef_search) if ann_dir else None
        )
        self.expansion_factor = expansion_factor
        self.pcs_expansion_factor = pcs_expansion_factor
        self.categories, self.pcs_roots = expansion_tables(self.index.descriptions, max_category_codes)
        self.cap_per_system = cap_per_system
        systems = frozenset(s.strip() for s in partial_systems.split(",") if s.strip())
        self.partial = (partial_factor, partial_min_coverage, partial_max_terms, systems) if partial_factor > 0 else None
        if self.partial:
            self.index.partial_terms(systems)  # built at load, not on the first note

    def add_siblings(self, codes: dict[tuple[str, str], tuple[float, str]]) -> None:
        for (system, code), (score, term) in sorted(codes.items(), key=lambda kv: -kv[1][0])[:3]:
            if system != "ICD10CM":
                continue
            parent = self.index.parent_of(code)
            kids = self.index.siblings.get(parent, ()) if parent else ()
            if len(kids) > self.max_siblings:
                continue
            for kid in kids:
                key = (system, kid)
                if key not in codes or codes[key][0] < score * self.sibling_factor:
                    codes[key] = (score * self.sibling_factor, term)

    def __call__(self, doc: Doc) -> Doc:
        text = doc.text
        note_abbreviations = (
            {abbr.text: abbr._.long_form.text for abbr in doc._.abbreviations}
            if Doc.has_extension("abbreviations")
            else {}
        )
        headers = [(t.start_char, t.end_char) for t in doc._.section_titles] if Doc.has_extension("section_titles") else []
        chosen = doc._.senses if Doc.has_extension("senses") else None
        senses = {start: sense.expansion for start, sense in chosen.items()} if chosen else None
        raw_mentions: list[RawMention] = []
        leftovers: list[list[Word]] = []
        for sent in doc.sents:
            words = sentence_words(text, sent.start_char, sent.end_char, note_abbreviations, senses)
            found = match_sentence(words, self.index, text)
            if self.partial is not None:
                found = merge_nested(found + match_partial(words, self.index, *self.partial), text)
            raw_mentions += found
            if self.approximate is not None:
                leftovers += uncovered_runs(words, found)
        if self.approximate is not None and leftovers:
            raw_mentions += self.approximate.match(leftovers)
        # a mention's candidates live in this dict until the end: reading or writing a span
        # extension builds an Underscore object each time (~1 us, dozens per mention)
        by_tokens: dict[tuple[int, int], tuple[Span, tuple[Candidate, ...]]] = {}
        for raw in raw_mentions:
            if any(start < raw.end and raw.start < end for start, end in headers):
                continue  # "HISTORY OF PRESENT ILLNESS:" is a header, not an illness
            self.add_siblings(raw.codes)
            made = self._span(doc, raw)
            if made is None:
                continue
            span, candidates = made
            same = by_tokens.get((span.start, span.end))
            if same is not None:  # two matches aligned to the same tokens: one mention
                merged: dict[tuple[str, str], Candidate] = {}
                for c in (*candidates, *same[1]):
                    if c.similarity > getattr(merged.get((c.system, c.code)), "similarity", -1.0):
                        merged[(c.system, c.code)] = c
                candidates = tuple(sorted(merged.values(), key=lambda c: (-c.similarity, len(c.code), c.code)))
            by_tokens[(span.start, span.end)] = (span, candidates)
        mentions = [[span, candidates] for span, candidates in by_tokens.values()]
        if self.expansion_factor > 0 or self.pcs_expansion_factor > 0:
            self.add_expansions(mentions)
        limit_candidates(mentions, self.max_per_note, self.cap_per_system)
        kept = []
        for span, candidates in mentions:
            span._.candidates = candidates
            if candidates:
                kept.append(span)
        doc.spans[MENTIONS] = sorted(kept, key=lambda s: (s.start, s.end))
        return doc

    def _span(self, doc: Doc, raw: RawMention) -> tuple[Span, tuple[Candidate, ...]] | None:
        """The mention as a span labelled by its best candidate's kind (diagnosis or procedure),
        with its candidates best first. One span per offsets: spaCy keys span extensions by
        offsets, so two spans on the same words would share their candidates."""
        # the best max_candidates first, then Candidate objects for those only (a frozen
        # dataclass costs about a microsecond to build; a mention may have hundreds of codes)
        scored = [
            (round(similarity, 4), system, code, term)
            for (system, code), (similarity, term) in raw.codes.items()
            if similarity >= self.min_similarity
        ]
        if not scored:
            return None
        scored.sort(key=lambda c: (-c[0], len(c[2]), c[2]))
        kind = mention_kind(scored[0][1])  # the system's entry: ICD-10-CM diagnosis, PCS and CPT procedure
        span = doc.char_span(raw.start, raw.end, label=kind, alignment_mode="expand")
        if span is None:
            return None
        span._.is_status = raw.is_status()
        if raw.expansions:
            span._.expanded = expand_text(span.text, raw.expansions)
        descriptions = self.index.descriptions
        candidates = tuple(
            Candidate(system, code, descriptions.get((system, code), ""), similarity, term)
            for similarity, system, code, term in scored[: self.max_candidates]
        )
        return span, candidates

    def add_expansions(self, mentions: list[list]) -> None:
        """Related codes of the note's candidates, scored below them (see the class docstring).
        ``mentions`` holds ``[span, candidates]`` pairs; the candidates are replaced in place.

        Done once per note: each category (ICD-10-CM) or three-character PCS prefix is widened
        from its best-scoring candidate in the note, onto that candidate's mention, and only the
        codes that fit under the note's cap become candidates."""
        direct: dict[tuple[str, str], float] = {}
        sources: dict[tuple[str, str, str], tuple[float, int, str]] = {}  # group -> (score, mention, term)
        for i, (_, candidates) in enumerate(mentions):
            for c in candidates:
                key = (c.system, c.code)
                if c.similarity > direct.get(key, 0.0):
                    direct[key] = c.similarity
                if c.system == "ICD10CM":
                    group, score = (c.system, c.code[:3], ""), c.similarity * self.expansion_factor
                elif c.system == "ICD10PCS":
                    group, score = (c.system, c.code[:3], c.code[4:]), c.similarity * self.pcs_expansion_factor
                else:
                    continue
                if score > 0 and score > sources.get(group, (0.0,))[0]:
                    sources[group] = (score, i, c.matched_term)
        added: dict[tuple[str, str], tuple[float, int, str]] = {}
        descriptions = self.index.descriptions
        for (system, three, tail), value in sources.items():
            if system == "ICD10CM":
                related = self.categories.get(three, ())
            else:  # keep the candidate's approach, device and qualifier where that code exists
                related = [
                    root + tail if (system, root + tail) in descriptions else fallback
                    for root, fallback in self.pcs_roots.get(three, ())
                ]
            score = value[0]
            for code in related:
                key = (system, code)
                if key not in direct and score > added.get(key, (0.0,))[0]:
                    added[key] = value
        if not added:
            return
        if len(direct) + len(added) > self.max_per_note:  # the ordering of limit_candidates
            scores = {**{k: v[0] for k, v in added.items()}, **direct}
            kept = top_codes(scores, self.max_per_note, self.cap_per_system)
            added = {k: v for k, v in added.items() if k in kept}
        extra: dict[int, list[Candidate]] = {}
        for (system, code), (score, i, term) in added.items():
            extra.setdefault(i, []).append(
                Candidate(system, code, descriptions.get((system, code), ""), round(score, 4), term)
            )
        for i, candidates in extra.items():
            candidates.sort(key=lambda c: (-c.similarity, len(c.code), c.code))
            mentions[i][1] = (*mentions[i][1], *candidates)


def expansion_tables(
    descriptions: dict[tuple[str, str], str], max_category_codes: int
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[tuple[str, str], ...]]]:
    """ICD-10-CM category (``N28``) -> its codes, for categories of at most ``max_category_codes``
    codes; ICD-10-PCS first three characters (``BW2``) -> the four-character roots under them,
    each with a fallback code: the root's code with the most "Z" (no device, no qualifier, no
    contrast) characters."""
    categories: dict[str, list[str]] = {}
    roots: dict[str, str] = {}
    for system, code in descriptions:
        if system == "ICD10CM":
            categories.setdefault(code[:3], []).append(code)
        elif system == "ICD10PCS" and len(code) == 7:
            best = roots.get(code[:4])
            if best is None or (code.count("Z"), best) > (best.count("Z"), code):
                roots[code[:4]] = code
    by_three: dict[str, list[tuple[str, str]]] = {}
    for root in sorted(roots):
        by_three.setdefault(root[:3], []).append((root, roots[root]))
    return (
        {cat: tuple(sorted(codes)) for cat, codes in categories.items() if len(codes) <= max_category_codes},
        {three: tuple(codes) for three, codes in by_three.items()},
    )


def limit_candidates(mentions: list[list], limit: int, per_system: bool = False) -> None:
    """Keep the note's ``limit`` best distinct codes (by their best similarity in the note; ``per_system``:
    ``limit`` of each code system); ``mentions`` holds ``[span, candidates]`` pairs, whose candidates are
    replaced in place."""
    best: dict[tuple[str, str], float] = {}
    for _, candidates in mentions:
        for c in candidates:
            best[(c.system, c.code)] = max(best.get((c.system, c.code), 0.0), c.similarity)
    kept = top_codes(best, limit, per_system, rounded=False)
    if len(kept) == len(best):
        return
    for mention in mentions:
        mention[1] = tuple(c for c in mention[1] if (c.system, c.code) in kept)


def top_codes(
    scores: dict[tuple[str, str], float], limit: int, per_system: bool = False, rounded: bool = True
) -> set[tuple[str, str]]:
    """The ``limit`` best-scored codes (ties by code; ``rounded``: scores compared to 4 decimals), of all
    systems together or of each system."""
    if per_system:
        kept: set[tuple[str, str]] = set()
        for system in {k[0] for k in scores}:
            kept |= top_codes({k: v for k, v in scores.items() if k[0] == system}, limit, rounded=rounded)
        return kept
    if len(scores) <= limit:
        return set(scores)
    if rounded:
        return set(sorted(scores, key=lambda k: (-round(scores[k], 4), k))[:limit])
    return set(sorted(scores, key=lambda k: (-scores[k], k))[:limit])


def expand_text(span_text: str, expansions: dict[str, str]) -> str:
    """The mention text with its abbreviations written out ("HTN" -> "hypertension")."""
    for short, long_form in expansions.items():
        span_text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(short)}(?![A-Za-z0-9])", long_form, span_text)
    return span_text


@Language.factory("codesuggest_abbreviations")
def make_abbreviations(nlp: Language, name: str) -> "OneDocAtATime":
    """scispaCy's abbreviation detector, one doc at a time across threads: it adds each doc's
    short forms to a matcher it shares between calls and removes them after, so two request
    threads in it at once raised KeyError (seen under 16 concurrent POST /v1/notes)."""
    return OneDocAtATime(AbbreviationDetector(nlp, name=name))


class OneDocAtATime:
    """Runs a component that keeps per-call state on itself under a lock."""

    def __init__(self, component):
        self.component = component
        self.lock = threading.Lock()

    def __call__(self, doc: Doc) -> Doc:
        with self.lock:
            return self.component(doc)


def _approximate_matcher(index: TermIndex, ann_dir: str, k: int, min_similarity: float, ef_search: int) -> "ApproximateMatcher":  # noqa: F821
    """Imported here: scispacy's linker, nmslib and their own imports would otherwise slow every
    start-up that leaves approximate search off (the default)."""
    from .linker import ApproximateMatcher

    return ApproximateMatcher(index, ann_dir, k, min_similarity, ef_search=ef_search)
