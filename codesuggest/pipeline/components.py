"""spaCy components of the codesuggest pipeline, registered by name.

- ``codesuggest_sentences``: sentence starts at line breaks and after . ? !
  (PyRuSH is accurate but ~150 ms a note; this is ~1 ms and CodiEsp-style and
  US-style notes break at lines anyway).
- ``codesuggest_mentions``: diagnosis and procedure mentions with candidate
  codes, into ``doc.spans["mentions"]``; each span's ``._.candidates`` holds
  its :class:`~codesuggest.pipeline.schema.Candidate` tuple and
  ``._.expanded`` the long form of an abbreviation it contains.
"""


from spacy.language import Language
from spacy.tokens import Doc, Span

from .matcher import match_sentence, sentence_words
from .resources import load_term_index
from .schema import Candidate

MENTIONS = "mentions"
if not Span.has_extension("candidates"):
    Span.set_extension("candidates", default=())
if not Span.has_extension("expanded"):
    Span.set_extension("expanded", default=None)

_SENT_END = frozenset(".?!")


@Language.component("codesuggest_sentences")
def split_sentences(doc: Doc) -> Doc:
    for i, token in enumerate(doc):
        if i == 0:
            token.is_sent_start = True
            continue
        prev = doc[i - 1]
        after_break = (prev.is_space and "\n" in prev.text) or (prev.text in _SENT_END and not token.is_punct)
        token.is_sent_start = after_break and not token.is_space
    return doc


@Language.factory(
    "codesuggest_mentions",
    default_config={"index_path": "", "max_candidates_per_mention": 25, "min_similarity": 0.5},
)
def make_mention_matcher(nlp: Language, name: str, index_path: str, max_candidates_per_mention: int, min_similarity: float):
    return MentionMatcher(index_path, max_candidates_per_mention, min_similarity)


class MentionMatcher:
    def __init__(self, index_path: str, max_candidates_per_mention: int, min_similarity: float):
        if not index_path:
            raise ValueError("codesuggest_mentions needs index_path (see pipeline.resources.ensure_term_index)")
        self.index = load_term_index(index_path)
        self.max_candidates = max_candidates_per_mention
        self.min_similarity = min_similarity

    def __call__(self, doc: Doc) -> Doc:
        text = doc.text
        note_abbreviations = {
            abbr.text: abbr._.long_form.text for abbr in getattr(doc._, "abbreviations", []) or []
        } if Doc.has_extension("abbreviations") else {}
        spans = []
        for sent in doc.sents:
            words = sentence_words(text, sent.start_char, sent.end_char, note_abbreviations)
            for raw in match_sentence(words, self.index):
                by_kind: dict[str, list[Candidate]] = {}
                for (system, code), (similarity, term) in raw.codes.items():
                    if similarity < self.min_similarity:
                        continue
                    kind = "diagnosis" if system == "ICD10CM" else "procedure"
                    by_kind.setdefault(kind, []).append(
                        Candidate(system, code, self.index.descriptions.get((system, code), ""), round(similarity, 4), term)
                    )
                for kind, candidates in by_kind.items():
                    span = doc.char_span(raw.start, raw.end, label=kind, alignment_mode="expand")
                    if span is None:
                        continue
                    candidates.sort(key=lambda c: (-c.similarity, len(c.code), c.code))
                    span._.candidates = tuple(candidates[: self.max_candidates])
                    if raw.expansions:
                        span._.expanded = expand_text(text[span.start_char : span.end_char], raw.expansions, note_abbreviations)
                    spans.append(span)
        doc.spans[MENTIONS] = spans
        return doc


def expand_text(span_text: str, long_forms: dict[str, str], note_abbreviations: dict[str, str]) -> str:
    """The mention text with its abbreviations written out ("HTN" -> "hypertension")."""
    from .matcher import curated_abbreviations

    table = {**curated_abbreviations(), **note_abbreviations}
    words = [table.get(w, w) if table.get(w) in long_forms else w for w in span_text.split()]
    return " ".join(words)
