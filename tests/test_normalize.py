"""Word normalisation: the offsets version agrees with the plain one."""

from __future__ import annotations

import pytest

from codesuggest.pipeline.normalize import SYNONYMS, content_words, content_words_at


@pytest.mark.parametrize("text", [
    "", "the", "Patient's renal cysts were removed; no diabetes.", "CT of the head, 3 x 2 cm, type 2 diabetes",
])
def test_content_words_at_agrees_with_content_words(text):
    words, starts = content_words_at(text)
    assert words == content_words(text)
    assert len(starts) == len(words) and starts == sorted(starts)


def test_content_words_at_offsets():
    text = "Bilateral renal cysts"
    words, starts = content_words_at(text)
    assert starts[-1] == text.index("cysts")
    phrase = next(k for k, v in SYNONYMS.items() if len(k) > 1 and v)  # a phrase the table rewrites
    words, starts = content_words_at("x " + " ".join(phrase))
    assert words == content_words("x " + " ".join(phrase))
    assert set(starts[1:]) == {2}  # the synonym's words start where the phrase did


def test_content_words_at_agrees_on_every_synonym_twice():
    """Every synonym phrase, and its first word alone (which only may start a phrase), read the same by
    both functions, on the first call and from the word memo on the second."""
    for phrase in SYNONYMS:
        text = f"the {' '.join(phrase)} and {phrase[0]} alone, {' '.join(phrase)}s."
        for _ in range(2):
            words, starts = content_words_at(text)
            assert words == content_words(text), text
            assert starts == sorted(starts)


def test_accents_are_read_as_their_plain_letters_at_the_same_offsets():
    """The code sets write "Ménière's disease", "Sjögren syndrome"; notes mostly write neither accent."""
    assert content_words("Ménière's disease") == content_words("Meniere's disease") == ["menier", "diseas"]
    assert content_words("Sjögren syndrome") == content_words("Sjogren syndrome")
    text = "Guillain-Barré, then Ménière"
    words, starts = content_words_at(text)
    assert words == content_words(text) and starts[-1] == text.index("Ménière")
