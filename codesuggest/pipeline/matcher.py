"""Terminology-driven mention detection over one sentence (pure Python, no spaCy).

Two passes over the sentence's content words (abbreviations expanded,
synonyms applied, stemmed; see :mod:`normalize`):

1. exact: every run of 1..8 consecutive content words whose order-free key is
   a term key ("cyst of kidney" = "renal cyst");
2. window: terms of two or more words whose words all occur close together
   ("stenosis in the right pyeloureteral junction" finds a term with
   "stenosis" and "junction" a few words apart), scored by how tightly.

spaCy's PhraseMatcher matches contiguous tokens in order, which misses both
cases, hence this small matcher.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from itertools import islice

from .normalize import KEEP_IN_KEY, STOP_WORDS, SYNONYMS, _SYN_MAX, fold_accents, sorted_bag_key, stem
from .terminology import MAX_TERM_WORDS, TermIndex

_SYN_FIRST_WORDS = frozenset(words[0] for words in SYNONYMS if len(words) > 1)
_TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:'s)?|[,;:()/]")
_CLAUSE_BREAK = frozenset(";:()")
# a modal verb stands between a thing and what it may be ("a mole on her back could be melanoma"): no window spans it
_MODALS = frozenset({"could", "might", "would", "should", "may"})
# "COPD without exacerbation", "asthma, not in exacerbation": the words after a negator are denied up to
# the next of these words, and no term without a negator of its own spans the negator
_NEGATORS = frozenset({"without", "no", "not"})
_DENIAL_ENDS = frozenset({"with", "and", "but", ","})
WINDOW_SLACK = 3  # extra content words a window match may span
# words of side a note puts inside a condition's words ("osteoarthritis of left knee", "OA R knee"):
# a window over a term's words that only these interrupt reads as the term itself (the laterality
# rules take the side from the sentence)
SIDE_WORDS = frozenset({"left", "right", "bilater", "l", "r", "lt", "rt", "bilat"})
MAX_CODES_PER_TERM = 40
PART_OF_ABBREVIATION = 0.8  # a term matching part of an abbreviation's long form ("DM2": "diabetes")
# What a word's sense (pipeline/senses.py) tells the matcher, besides a long form:
NOT_A_MENTION = "-"  # the word is no mention and joins none
AS_WRITTEN = "="  # the word's usual reading (its long form in abbreviations.tsv, else as written)
INSIDE_ONLY = "~"  # the word only as part of a longer term


@dataclass(slots=True)
class Word:
    norm: str  # stemmed content word
    start: int
    end: int
    abbreviation: tuple[str, str] | None = None  # (short, long form) when it came from an abbreviation
    clause: int = 0
    alone: bool = True  # may be a mention by itself (False: only inside a longer term, see senses.INSIDE_ONLY)
    denied: bool = False  # after "without" / "no" / "not" in its clause (see _spans_a_denial)


@dataclass(slots=True)
class RawMention:
    start: int
    end: int
    codes: dict[tuple[str, str], tuple[float, str]] = field(default_factory=dict)  # -> (similarity, term)
    expansions: dict[str, str] = field(default_factory=dict)  # short form -> long form
    exact: bool = False  # some term matched these words exactly (not only as a window)

    def add(self, codes: tuple[tuple[str, str, float], ...], similarity: float, term: str, diagnosis_factor: float = 1.0) -> None:
        """``diagnosis_factor`` scales the ICD-10-CM codes only (see :func:`_part_factor`)."""
        for system, code, quality in codes[:MAX_CODES_PER_TERM]:
            score = similarity * quality * (diagnosis_factor if system == "ICD10CM" else 1.0)
            if score > self.codes.get((system, code), (0.0, ""))[0]:
                self.codes[(system, code)] = (score, term)

    def _best(self) -> list[tuple[str, str]]:
        """The (system, code) keys at its best score."""
        best = max((score for score, _ in self.codes.values()), default=0.0)
        return [key for key, (score, _) in self.codes.items() if score >= best]

    def is_status(self) -> bool:
        """Its best candidates are Z codes (history, status, encounter), not a condition."""
        return any(system == "ICD10CM" and code.startswith("Z") for system, code in self._best())

    def is_procedure(self) -> bool:
        """Its best candidates are procedures (ICD-10-PCS), no condition."""
        best = self._best()
        return bool(best) and all(system == "ICD10PCS" for system, _ in best)

    def is_external_cause(self) -> bool:
        """Its best candidates are external causes (ICD-10-CM V00-Y99: "exposure" X58), no condition."""
        return any(system == "ICD10CM" and code.startswith(("V", "W", "X", "Y")) for system, code in self._best())

    def contains(self, other: "RawMention") -> bool:
        return self.start <= other.start and other.end <= self.end

    def names_an_injury(self) -> bool:
        """Some of its best candidates are injury codes (ICD-10-CM S00-T14)."""
        return any(_is_injury(system, code) for system, code in self._best())

    def absorb(self, inner: "RawMention", factor: float = 0.8) -> None:
        """Take the candidates of a mention nested inside this one (scaled down a little).

        A span whose best reading is no injury takes no injury codes from its words: the index's
        "Injury, kidney, acute (nontraumatic)" is N17.9, and "acute kidney injury" holds "kidney
        injury" (S37.0-) and "injury" (T14.90) in a sense it does not mean."""
        keep_injuries = self.names_an_injury()
        for key, (score, term) in inner.codes.items():
            if not keep_injuries and _is_injury(*key):
                continue
            if score * factor > self.codes.get(key, (0.0, ""))[0]:
                self.codes[key] = (score * factor, term)
        self.expansions.update(inner.expansions)


def _is_injury(system: str, code: str) -> bool:
    """ICD-10-CM chapter 19's injuries by body region (S00-T14), not its poisonings, adverse effects or
    complications (T36-T88, which a condition's words may call for: "drug-induced")."""
    return system == "ICD10CM" and (code[0] == "S" or (code[0] == "T" and code[1] in "01"))


@lru_cache(maxsize=1)
def curated_abbreviations() -> dict[str, str]:
    text = resources.files(__package__).joinpath("resources/abbreviations.tsv").read_text(encoding="utf-8")
    table = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            short, _, long_form = line.partition("\t")
            if long_form.strip():
                table[short.strip()] = long_form.strip()
    return table


def sentence_words(
    text: str, start: int, end: int, note_abbreviations: dict[str, str], senses: dict[int, str] | None = None
) -> list[Word]:
    """Content words of ``text[start:end]`` with their character offsets in ``text``.

    A word is read as the note defines it (``note_abbreviations``), else as ``senses`` says
    (start offset -> expansion, see :mod:`senses`), else through ``resources/abbreviations.tsv``.
    A word whose sense is no mention is dropped and cuts the clause, so that no window spans it."""
    curated = curated_abbreviations()
    raw: list[tuple[str, int, int, tuple[str, str] | None, int, bool, bool]] = []
    clause = 0
    denied = False
    segment = fold_accents(text[start:end])  # one character for one: offsets hold
    tokens = list(_TOKEN_RE.finditer(segment))
    inserted = _inserted_modifiers(segment, tokens)
    for i, m in enumerate(tokens):
        if i in inserted:
            continue
        token = m.group()
        m_start, m_end = start + m.start(), start + m.end()
        lowered = token.lower()
        if lowered in _NEGATORS:
            denied = True
        elif lowered in _DENIAL_ENDS:
            denied = False
        if token in _CLAUSE_BREAK or token in _MODALS:
            clause += 1
            denied = False
            continue
        if token in ",/":
            continue
        alone = True
        long_form = note_abbreviations.get(token)
        if long_form is None:
            sense = senses.get(m_start) if senses else None
            if sense is None:
                long_form = curated.get(token) if not token.islower() else None
            elif sense == NOT_A_MENTION:
                clause += 1
                denied = False
                continue
            elif sense == AS_WRITTEN:
                long_form = curated.get(token) if not token.islower() else None
            elif sense == INSIDE_ONLY:
                alone = False
            else:
                long_form = sense
        if long_form:
            for w in re.findall(r"[a-z0-9]+", long_form.lower()):
                raw.append((w, m_start, m_end, (token, long_form), clause, alone, denied))
        else:
            raw.append((lowered.removesuffix("'s"), m_start, m_end, None, clause, alone, denied))
    return _content_words(raw)


def _inserted_modifiers(segment: str, tokens: list[re.Match], longest: int = 3) -> set[int]:
    """Positions of a parenthesised modifier set between two words, brackets included: one to ``longest``
    lower-case words joined by hyphens or slashes, "Takotsubo (stress-induced) cardiomyopathy", "alprazolam
    (sedative/anxiolytic) use disorder", read as "Takotsubo cardiomyopathy". Any other parenthesis
    breaks the clause as before: "(-) chills", "hypothyroidism (Hashimoto)" keeps its own reading."""
    words = [m.group() for m in tokens]
    skipped: set[int] = set()
    for i, token in enumerate(words):
        if token != "(" or i == 0 or not words[i - 1][0].isalnum():
            continue
        close = next((j for j in range(i + 1, min(i + 2 * longest + 1, len(words))) if words[j] not in "/"
                      and not words[j][0].isalnum()), None)
        if close is None or words[close] != ")" or close + 1 >= len(words) or not words[close + 1][0].isalnum():
            continue
        inside = segment[tokens[i].end():tokens[close].start()]
        if (1 <= sum(w[0].isalnum() for w in words[i + 1:close]) <= longest and re.search(r"\w[-/]\w", inside)
                and inside.islower()):  # "(HRS-AKI)" names a condition of its own
            skipped.update(range(i, close + 1))
    return skipped


def _content_words(raw: list[tuple[str, int, int, tuple[str, str] | None, int, bool, bool]]) -> list[Word]:
    """Synonyms applied (longest phrase first: the rule of ``normalize.apply_synonyms``, inlined here
    over words that carry offsets, since it runs for every word of every note), stop words dropped,
    stemmed."""
    lowered = [r[0] for r in raw]
    words: list[Word] = []
    i, n_raw = 0, len(raw)
    while i < n_raw:
        first = lowered[i]
        # most words start no synonym phrase: one lookup, no slicing
        if first in _SYN_FIRST_WORDS:
            longest = min(_SYN_MAX, n_raw - i)
        else:
            longest = 1 if (first,) in SYNONYMS else 0
        for n in range(longest, 0, -1):
            target = SYNONYMS.get(tuple(lowered[i : i + n]))
            if target is not None:
                start, last = raw[i], raw[i + n - 1]
                for w in target:
                    if w not in STOP_WORDS or w in KEEP_IN_KEY:
                        words.append(Word(stem(w), start[1], last[2], start[3], start[4], start[5] and last[5], start[6]))
                i += n
                break
        else:
            w, s, e, abbr, cl, alone, denied = raw[i]
            if w not in STOP_WORDS or w in KEEP_IN_KEY:
                words.append(Word(stem(w), s, e, abbr, cl, alone, denied))
            i += 1
    return words


def match_sentence(words: list[Word], index: TermIndex, text: str = "") -> list[RawMention]:
    mentions: dict[tuple[int, int], RawMention] = {}

    def mention(i: int, j: int) -> RawMention:
        span = (words[i].start, words[j].end)
        found = mentions.get(span)
        if found is None:
            found = mentions[span] = RawMention(*span)
            for w in words[i : j + 1]:
                if w.abbreviation:
                    short, long_form = w.abbreviation
                    found.expansions[short] = long_form
        return found

    longest = index.longest_term_with
    terms = index.terms
    n = len(words)
    after_non = _denied_by_non(words)
    for i in range(n):
        if i in after_non or not longest.get(words[i].norm):
            continue  # no term has this word: no window starting here can match
        clause = words[i].clause
        distinct: list[str] = []  # the window's distinct words, sorted: joined, the bag key
        room = MAX_TERM_WORDS
        for j in range(i, min(n, i + MAX_TERM_WORDS)):
            word = words[j]
            if word.clause != clause:
                break
            norm = word.norm
            at = bisect_left(distinct, norm)
            if at == len(distinct) or distinct[at] != norm:
                distinct.insert(at, norm)
            room = min(room, longest.get(norm, 0))
            if len(distinct) > room:
                break  # no term has all these words, so no longer window from i has them either
            term = terms.get(sorted_bag_key(distinct))
            if term is not None and (j > i or words[i].alone) and not _spans_a_denial(words, i, j, term.text):
                found = mention(i, j)
                found.add(term.codes, 1.0, term.text, _part_factor(words, i, j))
                found.exact = True
    norms = [w.norm for w in words]
    present = set(norms)
    positions: dict[str, list[int]] = {}
    for q, norm in enumerate(norms):
        positions.setdefault(norm, []).append(q)
    for norm in dict.fromkeys(norms):  # in sentence order: a set's order changes with the hash seed
        for _, key, needed in index.triggered_by(norm, present):
            if not needed <= present:  # cheap set test first: most triggered terms stop here
                continue
            term = index.terms[key]
            width = len(term.words) + WINDOW_SLACK
            for p in positions[norm]:
                span = _window(p, term.words, positions, width)
                if span is None:
                    continue
                i, j = span
                if i not in after_non and words[i].clause == words[j].clause and not _spans_a_denial(words, i, j, term.text):
                    sides = sum(norms[q] in SIDE_WORDS and norms[q] not in term.words for q in range(i, j + 1))
                    length = j - i + 1 - sides
                    if sides and length == len(term.words) and all(c[0] == "ICD10CM" for c in term.codes):
                        # only side words interrupt a diagnosis term (a procedure's side is its code's)
                        found = mention(i, j)
                        found.add(term.codes, 1.0, term.text, _part_factor(words, i, j))
                        found.exact = True
                        continue
                    similarity = 0.95 * len(term.words) / max(length, len(term.words))
                    mention(i, j).add(term.codes, similarity, term.text, _part_factor(words, i, j))
    return merge_nested(list(mentions.values()), text)


def match_partial(
    words: list[Word], index: TermIndex, factor: float, min_coverage: float, max_terms: int,
    systems: frozenset[str] = frozenset({"ICD10CM", "ICD10PCS"}),
) -> list[RawMention]:
    """Terms the sentence says only in part: a term of two or more words whose rarest word is in the
    sentence and whose other words are there for at least ``min_coverage`` of its IDF weight (see
    :attr:`TermIndex.partial_terms`), counting the words within a window around that rarest word
    ("a spermatocele" for "Spermatocele of epididymis"; "lumbar canal stenosis" for "Spinal stenosis,
    lumbar region"). The ``max_terms`` best-covered terms of the sentence become mentions over the
    words they share, their codes at ``factor`` times the coverage (below full matches); the words
    a note leaves out are often the ones the title adds for a code the coder still picks. Only terms
    and codes of ``systems``."""
    if not words:
        return []
    norms = [w.norm for w in words]
    positions: dict[str, list[int]] = {}
    for q, norm in enumerate(norms):
        positions.setdefault(norm, []).append(q)
    partial = index.partial_terms(systems)
    weight = partial.weight
    present = set(positions)
    found: list[tuple[float, int, int, str]] = []  # (coverage, first, last word, key)
    for norm in dict.fromkeys(norms):
        for key, term_words, word_set, total, rarest_share in partial.by_rarest.get(norm, ()):
            shared = word_set & present
            n_shared = len(shared)
            if n_shared == len(word_set):
                continue  # all of it: the exact and window passes' business
            if n_shared == 1:  # the rarest word alone (most terms): its share is known
                if rarest_share < min_coverage:
                    continue
            elif sum(weight[w] for w in shared) < min_coverage * total:
                continue
            width = 2 * len(term_words) + WINDOW_SLACK
            for p in positions[norm]:
                lo = hi = p
                near = 0.0
                for w in shared:
                    best = min(positions[w], key=lambda q: abs(q - p))
                    if abs(best - p) <= width:
                        near += weight[w]
                        lo, hi = min(lo, best), max(hi, best)
                if near >= min_coverage * total:
                    found.append((near / total, lo, hi, key))
                    break
    found.sort(key=lambda f: (-f[0], f[3]))
    mentions: dict[tuple[int, int], RawMention] = {}
    seen: set[str] = set()
    for coverage, i, j, key in found:
        if key in seen:
            continue
        seen.add(key)
        if len(seen) > max_terms:
            break
        span = (words[i].start, words[j].end)
        mention = mentions.get(span)
        if mention is None:
            mention = mentions[span] = RawMention(*span)
        term = index.terms[key]
        codes = tuple(islice((c for c in term.codes if c[0] in systems), MAX_CODES_PER_TERM))
        mention.add(codes, factor * coverage, term.text, _part_factor(words, i, j))
    return list(mentions.values())


def _spans_a_denial(words: list[Word], i: int, j: int, term_text: str) -> bool:
    """Words ``i..j`` run from affirmed words into denied ones ("COPD without exacerbation") and the term
    says no negator of its own ("... without complications"): reading them as the term would turn the
    note's "without" into "with". Words that are all denied are ConText's to negate."""
    if words[i].denied or not any(words[k].denied for k in range(i + 1, j + 1)):
        return False
    return not _has_negator(term_text)


@lru_cache(maxsize=50_000)
def _has_negator(term_text: str) -> bool:
    return any(w in _NEGATORS or w.startswith("non") for w in re.findall(r"[a-z]+", term_text.lower()))


def _denied_by_non(words: list[Word]) -> frozenset[int]:
    """The positions of words that "non" / "non-" denies ("non-traumatic rhabdomyolysis", "non-pressure
    ulcer", "non-alcoholic steatohepatitis", "non-insulin dependent diabetes"): no term may start at one,
    else the words after "non" read as the kind of disease the note rules out. A term that has "non" in
    its own words ("non-Hodgkin lymphoma") still starts at "non"."""
    return frozenset(
        i for i in range(1, len(words))
        if words[i - 1].norm == "non" and words[i - 1].clause == words[i].clause
        and words[i].start - words[i - 1].end <= 1
    )


def _part_factor(words: list[Word], i: int, j: int) -> float:
    """``PART_OF_ABBREVIATION`` when words ``i..j`` leave out the first words of an abbreviation's
    long form ("diabetes mellitus" of "DM2" = "type 2 diabetes mellitus", "DM2 with neuropathy"
    read without "type 2"): all its words share the abbreviation's offsets, so the part would
    otherwise score as the whole. Applied to diagnosis codes only: the words left out are the
    qualifiers that set a diagnosis apart (type 2, acute, chronic), while procedure wordings
    name the same imaging without them ("CT" = "computerized tomography": "tomography of head")."""
    first = words[i]
    if first.abbreviation and i > 0 and words[i - 1].start == first.start and words[i - 1].abbreviation == first.abbreviation:
        return PART_OF_ABBREVIATION
    return 1.0


def _window(p: int, needed: tuple[str, ...], positions: dict[str, list[int]], width: int) -> tuple[int, int] | None:
    """First and last position of the needed words nearest ``p``, if all lie within ``width``."""
    lo = hi = p
    for word in needed:
        best = min(positions[word], key=lambda q: abs(q - p))
        if abs(best - p) > width:
            return None
        lo, hi = min(lo, best), max(hi, best)
    return lo, hi


# "CT for abdominal pain": the condition a procedure is done for stays a mention of its own (its indication)
_INDICATION = re.compile(r"\bfor\b[^,;]*$", re.IGNORECASE)
_DENIED_INSIDE = re.compile(r"\b(?:without|w/o|no|not)\b[^,;]*$", re.IGNORECASE)


def merge_nested(mentions: list[RawMention], text: str = "") -> list[RawMention]:
    """Keep the outermost spans; a span inside another gives its candidates to the smallest one
    that contains it ("chest pain" keeps "pain" -> R52 as a weaker candidate). Only exact
    matches absorb: a loose window match ("ECG showed sinus rhythm") must not swallow the
    exact mention inside it ("ECG").

    A status mention (ICD-10-CM Z codes: "family history of colon cancer" -> Z80.0) keeps
    the condition inside it as a mention of its own, so that ConText can mark the
    condition as family or historical while the Z code stays present; a status or an external cause
    inside it is its own wording ("history of breast cancer" in "family history of breast cancer",
    "exposure" in "exposure to COVID-19") and is absorbed. A span
    the wording denies ("hypertension" in "elevated blood pressure reading without diagnosis of
    hypertension", R03.0) gives it nothing (``text``: the note, to read the words between). Nor does a
    procedure swallow the condition it is done for ("CT for abdominal pain")."""
    kept: list[RawMention] = []
    for m in sorted(mentions, key=lambda m: (m.start - m.end, m.start)):
        containers = [k for k in kept if k.contains(m) and k.exact
                      and (not k.is_status() or m.is_status() or m.is_external_cause())
                      and not (text and k.is_procedure() and _INDICATION.search(text, k.start, m.start))]
        if containers:
            container = min(containers, key=lambda k: k.end - k.start)
            if not (text and _DENIED_INSIDE.search(text, container.start, m.start)):
                container.absorb(m)  # a condition the wording denies is no candidate of it
        else:
            kept.append(m)
    return sorted(kept, key=lambda m: (m.start, m.end))


def uncovered_runs(words: list[Word], mentions: list[RawMention], max_words: int = 4) -> list[list[Word]]:
    """Runs of content words that no mention covers, cut at clause breaks and at ``max_words``:
    what approximate search gets to look at."""
    covered = [any(m.start <= w.start and w.end <= m.end for m in mentions) for w in words]
    runs: list[list[Word]] = []
    current: list[Word] = []
    for word, is_covered in zip(words, covered):
        if is_covered or (current and (word.clause != current[-1].clause or len(current) == max_words)):
            if current:
                runs.append(current)
            current = []
        if not is_covered and len(word.norm) >= 4 and not word.norm.isdigit():
            current.append(word)
    if current:
        runs.append(current)
    return runs
