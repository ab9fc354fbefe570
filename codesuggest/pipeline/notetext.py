"""Is this text a clinical note in English at all? Checked once, at the edge, before any coding.

A PDF or Word file's bytes sent as text, a base64 blob, a table of numbers or a note in another
language would otherwise be coded: the pipeline finds "af" (atrial fibrillation) in a PDF's bytes.
The checks are deliberately loose (a terse note of abbreviations and numbers is a note): they
refuse only text that is clearly

* binary: a file signature at its start, or control / undecodable characters,
* not words: hardly any letters, letters that are all hexadecimal digits (a hex dump), or
  mostly long runs of letters and digits (base64),
* another language: its common function words far outnumber English ones.

All run on at most the first :data:`SAMPLE_CHARS` characters, by a few regular expressions
(tens of microseconds on a typical note).
"""

from __future__ import annotations

import re
from collections import Counter

SAMPLE_CHARS = 20_000
MAX_BINARY_SHARE = 0.01  # control or undecodable characters, of all characters
MIN_BINARY_CHARS = 4
MIN_LETTER_SHARE = 0.2  # letters, of the characters that are not white space ...
MIN_CHARS_FOR_SHARES = 40  # ... judged only on texts of at least this many such characters
MIN_BEYOND_HEX_SHARE = 0.1  # letters G-Z, of all letters (a hex dump has none) ...
MIN_CHARS_FOR_WORDS = 200  # ... and no long runs without spaces, on texts of this many non-space characters
MAX_BLOB_SHARE = 0.5  # characters in "words" of BLOB_LENGTH or more, of the non-space characters
BLOB_LENGTH = 40
MIN_FOREIGN_WORDS = 8  # another language: at least this many of its function words ...
FOREIGN_OVER_ENGLISH = 2.0  # ... and this many times as many as English ones

# Signatures of files that are not text (at the start, after white space or a byte-order mark).
_SIGNATURES = {
    "%PDF-": "a PDF file",
    "PK\x03\x04": "a ZIP archive (or a .docx / .xlsx file)",
    "\x89PNG": "a PNG image",
    "GIF8": "a GIF image",
    "\xff\xd8\xff": "a JPEG image",
    "\xd0\xcf\x11\xe0": "an old Word / Excel file",
    "\x1f\x8b": "a gzip file",
    "II*\x00": "a TIFF image",
    "MM\x00*": "a TIFF image",
}
# ASCII controls other than tab, newline, carriage return and form feed; C1 controls (what a
# binary file's bytes 0x80-0x9f become when read as Latin-1); U+FFFD (bytes that were not UTF-8).
_BINARY = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffd]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# every byte but the ASCII letters: what deleting leaves of UTF-8 text is its ASCII letters
# (bytes.translate runs in C, about 50 times faster than a regex over the characters)
_NOT_ASCII_LETTER = bytes(b for b in range(256) if not (65 <= b <= 90 or 97 <= b <= 122))
_NOT_LETTER_BEYOND_HEX = bytes(b for b in range(256) if not (71 <= b <= 90 or 103 <= b <= 122))  # keeps G-Z, g-z
LANGUAGE_SAMPLE_WORDS = 1_000

# Common function words of each language (a foreign language is named only when its words
# outnumber English ones by FOREIGN_OVER_ENGLISH, so that "de novo" or "in" decide nothing).
_ENGLISH = frozenset(
    "the and with of was were is are for to on at by from has had have he she his her this that which "
    "without denies denied patient noted".split()
)
_FOREIGN = {
    "Spanish": frozenset("de la en y un al el los las del por una para con que se su sus sin como fue pero años paciente presenta refiere".split()),
    "French": frozenset("de la en un au le les des du et une avec pour dans est sur sans aux présente été".split()),
    "German": frozenset("ein auf der und mit den das ist nicht von zu eine im bei wurde keine".split()),
    "Portuguese": frozenset("de e um ao os da das dos com não uma em foi sem".split()),
    "Italian": frozenset("e un la al il di che della non gli nel sono stato paziente".split()),
}


class NotClinicalTextError(ValueError):
    """The text is not a clinical note the pipeline can read (binary, not words, not English)."""


def check_note_text(text: str) -> None:
    """Raise :class:`NotClinicalTextError`, saying why, if ``text`` is clearly no note in English."""
    sample = text[:SAMPLE_CHARS]
    _check_not_a_file(sample)
    chunks = sample.split()
    _check_words(sample, chunks)
    _check_language(chunks)


def _check_not_a_file(sample: str) -> None:
    head = sample.lstrip(" \t\r\n\ufeff")
    for signature, kind in _SIGNATURES.items():
        if head.startswith(signature):
            raise NotClinicalTextError(f"the text is {kind}, not a note: send the note's text (extract it from the file first)")
    binary = len(_BINARY.findall(sample))
    if binary >= MIN_BINARY_CHARS and binary > MAX_BINARY_SHARE * len(sample):
        raise NotClinicalTextError(
            f"the text looks binary ({binary} control or undecodable characters in its first {len(sample):,}), not a note"
        )


def _check_words(sample: str, chunks: list[str]) -> None:
    """Letters, not only A-F, and no long runs without spaces (short texts: some letter)."""
    non_space = sum(map(len, chunks))
    letters = len(sample.encode("utf-8", "replace").translate(None, _NOT_ASCII_LETTER))
    if not sample.isascii():  # letters outside ASCII ("años", "Übelkeit"), counted the slow way
        letters += sum(1 for c in _NON_ASCII.findall(sample) if c.isalpha())
    if non_space < MIN_CHARS_FOR_SHARES:
        if not letters:
            raise NotClinicalTextError("the text has no words, not a note")
        return
    if letters < MIN_LETTER_SHARE * non_space:
        raise NotClinicalTextError(f"the text is mostly not letters ({letters} of {non_space} characters), not a note")
    if non_space < MIN_CHARS_FOR_WORDS:
        return
    beyond_hex = len(sample.encode("utf-8", "replace").translate(None, _NOT_LETTER_BEYOND_HEX))
    if beyond_hex < MIN_BEYOND_HEX_SHARE * letters:
        raise NotClinicalTextError(f"the text reads as hexadecimal digits ({letters - beyond_hex} of its {letters} letters are A-F), not a note")
    blobs = sum(len(c) for c in chunks if len(c) >= BLOB_LENGTH and not c.startswith(("http", "www.")))
    if blobs > MAX_BLOB_SHARE * non_space:
        raise NotClinicalTextError("the text is mostly long runs of characters without spaces (encoded data?), not a note")


def _check_language(chunks: list[str]) -> None:
    """Counts the function words of each language among the first ``LANGUAGE_SAMPLE_WORDS``
    words as written: lower case only, since "LA" (left atrium) or "DE" is no function word."""
    seen = Counter(chunks[:LANGUAGE_SAMPLE_WORDS])  # counted in C; then ~100 look-ups
    english = sum(seen[w] for w in _ENGLISH)
    counts = {language: sum(seen[w] for w in words) for language, words in _FOREIGN.items()}
    for language, foreign in counts.items():
        if foreign >= MIN_FOREIGN_WORDS and foreign > FOREIGN_OVER_ENGLISH * english:
            raise NotClinicalTextError(
                f"the note looks written in {language} ({foreign} of its common words, {english} English ones); "
                "the pipeline reads English notes"
            )
