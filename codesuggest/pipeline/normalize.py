"""Word normalisation shared by the term index (code-set side) and the matcher (note side).

Both sides go through the same function so that "right renal ultrasound" and
"Ultrasonography of Right Kidney" meet on the same key: lower case, clinical
synonyms mapped to code-set wording (``resources/synonyms.tsv``), stop words
and filler dropped, a light suffix stemmer, and word order ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

WORD_RE = re.compile(r"[a-z0-9]+(?:'s)?")


def _accent_folding() -> dict[int, str]:
    """Latin letters with accents -> their plain letter, one character for one (offsets hold): the code
    sets write "Ménière", "Sjögren", "Guillain-Barré"; notes mostly do not."""
    table = {}
    for code_point in range(0xC0, 0x250):
        plain = unicodedata.normalize("NFKD", chr(code_point))[0]
        if plain.isascii() and plain.isalpha():
            table[code_point] = plain
    return table


_FOLD = _accent_folding()


def fold_accents(text: str) -> str:
    return text if text.isascii() else text.translate(_FOLD)  # isascii: a fast scan; most notes are ASCII

# Function words, and code-set filler that notes never say ("unspecified", "NOS").
STOP_WORDS = frozenset(
    """a an the of in on at to for from by with without and or as is are was were be been being
    its it this that these those his her their patient patients unspecified nos nec specified
    other site region part due use using than into onto per via not no""".split()
)
# The digits of "type 1" / "type 2" diabetes are content, not noise.
KEEP_IN_KEY = frozenset({"1", "2"})


def _load_synonyms() -> tuple[dict[tuple[str, ...], tuple[str, ...]], int]:
    table: dict[tuple[str, ...], tuple[str, ...]] = {}
    text = resources.files(__package__).joinpath("resources/synonyms.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        clinical, _, coded = line.partition("\t")
        source = tuple(WORD_RE.findall(clinical.lower()))
        target = tuple(WORD_RE.findall(coded.lower()))
        if source and target:
            table[source] = target
    # Targets are code-set wording, but must also read as the rest of the code-set text does
    # after normalisation ("measurement cardiac ..." -> "measurement heart ..."): map each
    # target word through the one-word pairs once.
    single = {k[0]: v for k, v in table.items() if len(k) == 1}
    for source, target in list(table.items()):
        table[source] = tuple(w for word in target for w in single.get(word, (word,)))
    longest = max((len(k) for k in table), default=1)
    return table, longest


SYNONYMS, _SYN_MAX = _load_synonyms()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A deliberately small stemmer: plurals and the adjective endings that matter in code text
    ("diabetic"/"diabetes", "renal" is a synonym, not a stem)."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("es", "e"), ("ic", ""), ("al", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            word = word[: -len(suffix)] + repl
            break
    if word.endswith("e") and len(word) > 5:
        word = word[:-1]
    return word


def apply_synonyms(words: list[str]) -> list[str]:
    """Replace clinical wording by code-set wording, longest phrase first."""
    out: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(_SYN_MAX, len(words) - i), 0, -1):
            target = SYNONYMS.get(tuple(words[i : i + n]))
            if target is not None:
                out.extend(target)
                i += n
                break
        else:
            out.append(words[i])
            i += 1
    return out


def _kept_stems(words) -> tuple[str, ...]:
    """The stems of the words that are not stop words (the two that name a type, "1" and "2", kept)."""
    return tuple(stem(w) for w in words if w not in STOP_WORDS or w in KEEP_IN_KEY)


def content_words(text_or_words: str | list[str]) -> list[str]:
    """Stemmed content words of a phrase, synonyms applied, in order (duplicates kept)."""
    words = WORD_RE.findall(fold_accents(text_or_words.lower())) if isinstance(text_or_words, str) else text_or_words
    words = [w[:-2] if w.endswith("'s") else w for w in words]
    return list(_kept_stems(apply_synonyms(words)))


_SYN_FIRST_WORDS = frozenset(words[0] for words in SYNONYMS if len(words) > 1)
_WORD_ANY_CASE_RE = re.compile(WORD_RE.pattern, re.IGNORECASE)  # on the text itself: lower() may move offsets


def content_words_at(text: str) -> tuple[list[str], list[int]]:
    """The content words of ``text`` as :func:`content_words` gives them, with the offset each starts at
    (a synonym's words take the offset of the phrase it replaced). A single pass that looks for a
    synonym phrase only at words that start one, and takes every other word's content words from a
    memo: fast enough for a whole note (the ranker reads every note this way)."""
    matches = list(_WORD_ANY_CASE_RE.finditer(fold_accents(text)))
    lowered = [m.group().lower() for m in matches]
    lowered = [w[:-2] if w.endswith("'s") else w for w in lowered]
    words: list[str] = []
    starts: list[int] = []
    memo = _WORD_CONTENT
    i, n = 0, len(lowered)
    while i < n:
        first = lowered[i]
        content = memo.get(first)
        if content is None:
            content = _word_content(first)
        width = 1
        if content is _PHRASE_START:
            for k in range(min(_SYN_MAX, n - i), 0, -1):
                target = SYNONYMS.get(tuple(lowered[i : i + k]))
                if target is not None:
                    content, width = _kept_stems(target), k
                    break
            else:
                content = _kept_stems((first,))
        if content:
            words.extend(content)
            starts.extend([matches[i].start()] * len(content))
        i += width
    return words, starts


_PHRASE_START = ("<phrase>",)  # the memo's mark of a word that may start a synonym phrase
_WORD_CONTENT: dict[str, tuple[str, ...]] = {}  # a lower-case word -> its content words (bounded below)


def _word_content(word: str) -> tuple[str, ...]:
    """What a word not in a synonym phrase gives: its synonym's content words, its stem or nothing."""
    if word in _SYN_FIRST_WORDS:
        return _PHRASE_START
    target = SYNONYMS.get((word,))
    content = _kept_stems(target if target is not None else (word,))
    if len(_WORD_CONTENT) < 200_000:
        _WORD_CONTENT[word] = content
    return content


# The bag key of words already distinct and sorted (the matcher grows such a list window by
# window): a bound method, not a function, since the matcher calls it per window of every sentence.
sorted_bag_key = " ".join


def bag_key(words: Iterable[str]) -> str:
    """Order-free key of a list of content words."""
    return sorted_bag_key(sorted(set(words)))
