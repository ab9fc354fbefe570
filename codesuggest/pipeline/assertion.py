"""Assertion status of mentions: medspaCy's ConText over ``doc.spans["mentions"]``.

Registered as the spaCy factory ``codesuggest_assertion``. It runs after the
sentence splitter, ``codesuggest_sections`` and the mention matcher, and sets
``Span._.assertion`` (a :class:`~codesuggest.pipeline.schema.Assertion`) and
medspaCy's ``Span._.modifiers`` on every mention; read it with
:func:`assertion_of`.

What it adds to medspaCy's ConText:

* its own rules (``resources/context_rules.json``, about 520): pseudo-triggers
  ("no change in", "gram negative", "not only", "3-day history of", "organism not
  identified", "not otherwise specified"), more terminators ("which", "although",
  ";", "presents with"), a clause with a positive verb ending negation ("and she
  reports", "endorses"; present tense also ends historical/resolved: "history of
  MI and has CHF"), postposed negation ("was not seen", "bile duct not dilated",
  "MI ruled out", "HIV negative", "unlikely"), "rule out"/"evaluate
  for"/"cannot be excluded" as possible, conditional and future mentions
  ("return if", "should she develop", "scheduled for") and the object of a
  screening ("screening for X", "X screening") as hypothetical,
  "resolved"/"no longer has" as resolved, combined NEGATED_FAMILY ("no family
  history of");
* statuses: a hypothetical mention is also possible and a resolved one also
  historical (see :class:`~codesuggest.pipeline.schema.Assertion`);
* rule metadata ``trigger_before_last``: the last matched word ("dilated" in
  "not dilated") is the finding, kept out of the trigger and inside its scope;
* a trigger of one category ends the scope of triggers of other categories
  ("no pneumonia, possible atelectasis"), except that nothing but a
  terminator ends a family trigger;
* rule metadata ``scope_to_comma`` ("no residual deficits, HTN": the next
  list item is a new condition) and ``workup`` (only "r/o", "evaluate for",
  "test for" end at "with": "r/o sepsis with [fever]" names what the patient
  came with, while a hedge goes on: "possible pneumonia with [abscess]");
* a trigger inside a mention after a comma of that mention is a real trigger,
  not a word of the term: a window mention across list items ("LVH, no heart
  failure", "colonoscopy, hx of colon cancer") neither hides it from the nested
  mention nor escapes it ("not" / "without" / "with" after a comma stay words
  of the term, as in code titles: "Migraine without aura, not intractable");
* section status: mentions in past medical/surgical history are historical,
  in family history family; "history of" inside HPI / chief complaint /
  subjective does not make a mention historical unless a year follows the
  mention ("hx of ischemic stroke 2022");
* ConText runs sentence by sentence (overlong sentences in windows of
  ``max_sentence_tokens``), so a 2 MB note costs time linear in its length
  instead of medspaCy's all-pairs modifier comparison over the whole doc.
"""

# No `from __future__ import annotations`: spaCy validates factory signatures at runtime.
import itertools
import math
import re
from bisect import bisect_right
from pathlib import Path
from typing import Iterable

from medspacy.context import ConText, ConTextRule
from medspacy.context.context_graph import ConTextGraph
from medspacy.context.context_modifier import ConTextModifier
from medspacy.common.regex_matcher import RegexMatcher
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from codesuggest.pipeline.schema import Assertion
from codesuggest.pipeline.sections import longest_matches, section_of

RULES_PATH = Path(__file__).with_name("resources") / "context_rules.json"

# ConText category -> Assertion fields it sets.
CATEGORY_FIELDS: dict[str, tuple[str, ...]] = {
    "NEGATED_EXISTENCE": ("negated",),
    "POSSIBLE_EXISTENCE": ("possible",),
    "HYPOTHETICAL": ("hypothetical", "possible"),  # possible too: the ranker's features predate hypothetical
    "HISTORICAL": ("historical",),
    "HISTORICAL_CAUSE": ("historical",),
    "RESOLVED": ("resolved", "historical"),  # historical too, for the same reason
    "FAMILY": ("family",),
    "NEGATED_FAMILY": ("negated", "family"),
}
# Section category -> Assertion field every mention in it gets.
SECTION_FIELDS: dict[str, str] = {
    "past_medical_history": "historical",
    "past_surgical_history": "historical",
    "family_history": "family",
}
# Sections where "history of" describes the present illness (rules with metadata {"hpi_neutral": true}).
PRESENT_ILLNESS_SECTIONS = frozenset({"history_present_illness", "chief_complaint", "subjective"})

# Rule metadata: the matched words' last one is the finding the trigger negates, not part of the trigger.
TRIGGER_BEFORE_LAST = "trigger_before_last"
# PSEUDO triggers of this category end negation scopes only ("no fever secondary to ...", "and she had").
NEGATION_TERMINATE = "NEGATION_TERMINATE"
# Rule metadata: the scope ends at the next comma. "no residual deficits" is said of the list item before it
# ("hx of stroke 2022, no residual deficits, HTN"): the next item is a new condition, not negated.
SCOPE_TO_COMMA = "scope_to_comma"
# a backward trigger's scope starts after the last comma before it: "Chest pain, MI ruled out"
# rules out the MI, not the chest pain ("CHF and MI ruled out": both)
SCOPE_FROM_COMMA = "scope_from_comma"
# a backward trigger's scope starts after a dash set off by spaces before it: "Morbid obesity - discussed
# bariatric referral" discusses the referral, not the obesity (notes write "diagnosis - plan")
SCOPE_FROM_DASH = "scope_from_dash"
# PSEUDO triggers of this category (a clause with a present-tense verb: "and she reports", "endorses") end
# negated, historical and resolved scopes: "denies [chest pain] and reports [dyspnea]", "history of MI and has [CHF]".
CLAUSE_TERMINATE = "CLAUSE_TERMINATE"
# PSEUDO triggers of this category ("with") end the scopes of work-up triggers (rule metadata "workup":
# "r/o", "evaluate for", "test for"): "r/o [sepsis] with fever and cough" names the symptoms the patient
# came with, which are present. A hedge goes on ("possible pneumonia with [abscess]").
POSSIBLE_TERMINATE = "POSSIBLE_TERMINATE"
WORKUP = "workup"
# Rule metadata of terminators that open an exception ("other than", "aside from"): the clause they open,
# up to its comma, is outside the scope of a backward trigger after it: "Other than [fatigue], review of
# systems is negative" says the fatigue is present.
EXCEPTION_CLAUSE = "exception_clause"
# Rule metadata: the status (or list of statuses) this trigger's own replaces on a mention both reach
# ("concern for [stroke] was low": negated, not possible; "screening for [HCV] was negative": negated, not
# hypothetical)
OVERRIDES = "overrides"
# PSEUDO triggers of this category ("from a", "after a") end the scope of a backward historical trigger: in
# "residual [weakness] from a stroke in 2019" the year dates the stroke, not the weakness it left
CAUSE_LINK = "CAUSE_LINK"
# A trigger that both links a cause and dates it ("from prior", "after a previous"): the cause after it is
# historical ("hemiparesis from prior [stroke]"), and, as a CAUSE_LINK, it ends the scope of a backward
# historical trigger ("residual [weakness] from prior stroke in 2019": the weakness is current)
HISTORICAL_CAUSE = "HISTORICAL_CAUSE"
# With cross_category_termination, a trigger of these categories ends the scope of a trigger of the key
# category: "no pneumonia, possible atelectasis", "history of MI, no CHF". Family scopes end only at
# terminators; a possible trigger does not end a historical one ("history of possible seizures").
_HISTORICAL = frozenset({"HISTORICAL", HISTORICAL_CAUSE})
_TERMINATED_BY: dict[str, frozenset[str]] = {
    "NEGATED_EXISTENCE": frozenset({"POSSIBLE_EXISTENCE", "HYPOTHETICAL", *_HISTORICAL, "FAMILY", "NEGATED_FAMILY"}),
    "POSSIBLE_EXISTENCE": frozenset({"NEGATED_EXISTENCE", "HYPOTHETICAL", *_HISTORICAL, "FAMILY", "NEGATED_FAMILY"}),
    "HYPOTHETICAL": frozenset({"NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", *_HISTORICAL, "FAMILY", "NEGATED_FAMILY"}),
    "HISTORICAL": frozenset({"NEGATED_EXISTENCE", "FAMILY", "NEGATED_FAMILY"}),
    HISTORICAL_CAUSE: frozenset({"NEGATED_EXISTENCE", "FAMILY", "NEGATED_FAMILY"}),
    "RESOLVED": frozenset({"NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HYPOTHETICAL", "FAMILY", "NEGATED_FAMILY"}),
}


def _register_extensions() -> None:
    if not Span.has_extension("assertion"):
        Span.set_extension("assertion", default=None)


_register_extensions()


class _RuleMatcher:
    """Finds ConTextRule matches: one PhraseMatcher key per rule, whatever its number of wordings.

    A token pattern made only of words (``LOWER`` / ``LOWER IN``, optionally ``"OP": "?"``) is expanded
    into its wordings (phrase Docs built from the words, no tokenizer call). spaCy's Matcher tries every
    token pattern at every token (about 14 ms per 400-word note with medspaCy-style patterns); phrase
    lookups cost well under 1 ms. Other patterns go to spaCy's Matcher or medspaCy's RegexMatcher.
    """

    def __init__(self, nlp: Language, max_wordings: int = 20000):
        self.nlp = nlp
        self.max_wordings = max_wordings
        self.rules: list[ConTextRule] = []
        self.rule_map: dict[str, ConTextRule] = {}
        self._order: dict[int, int] = {}  # rule key (its hash in the vocabulary's strings) -> the rule's place
        self._phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._tokens = Matcher(nlp.vocab)
        self._regex = RegexMatcher(nlp.vocab)
        self._has_regex = False

    def add(self, rules: Iterable[ConTextRule]) -> None:
        for rule in rules:
            key = f"codesuggest_context_{len(self.rules)}"
            self._order[self.nlp.vocab.strings.add(key)] = len(self.rules)
            self.rules.append(rule)
            self.rule_map[key] = rule
            if rule.pattern is None:
                self._phrases.add(key, [self.nlp.make_doc(rule.literal.lower())])
            elif isinstance(rule.pattern, str):
                self._regex.add(key, [rule.pattern])
                self._has_regex = True
            else:
                options = _phrase_options(rule.pattern)
                if options is None or math.prod(len(words) for words in options) > self.max_wordings:
                    self._tokens.add(key, [rule.pattern])
                    continue
                docs = []
                for words in itertools.product(*options):
                    words = [word for word in words if word]
                    if words:
                        docs.append(Doc(self.nlp.vocab, words=words))
                self._phrases.add(key, docs)

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        matches = list(self._phrases(doc))
        if len(self._tokens):
            matches += self._tokens(doc)
        if self._has_regex:
            matches += self._regex(doc)
        if not matches:
            return matches
        # of two rules matching the same words, the one listed first wins (the matchers' own order
        # follows the hashes of the rule keys, which change when a rule is inserted before them)
        matches.sort(key=lambda m: self._order[m[0]])
        return longest_matches(matches, len(doc))


class _SentenceConText(ConText):
    """medspaCy's ConText with a faster rule matcher and its graph built sentence by sentence.

    Scopes, termination and target/modifier edges are medspaCy's (ConTextModifier, ConTextGraph);
    only the matching and the grouping by sentence differ, so a 2 MB note costs linear time instead
    of the all-pairs comparison of every modifier of the doc.
    """

    def __init__(self, nlp: Language, **kwargs):
        self.matcher = _RuleMatcher(nlp)
        super().__init__(nlp, **kwargs)

    def add(self, rules) -> None:
        if isinstance(rules, ConTextRule):
            rules = [rules]
        rules = list(rules)
        for rule in rules:  # what ConText.add does, minus building medspaCy's (slower) matcher
            if not isinstance(rule, ConTextRule):
                raise TypeError(f"Rules must type ConTextRule, not {type(rule)}.")
            for attr in ("allowed_types", "excluded_types", "max_scope", "max_targets"):
                if getattr(self, attr) is not None and getattr(rule, attr) is None:
                    setattr(rule, attr, getattr(self, attr))
            for other in self.terminating_types.get(rule.category.upper(), ()):
                rule.terminated_by.add(other.upper())
        self.matcher.add(rules)

    @property
    def rules(self) -> list[ConTextRule]:
        return list(self.matcher.rules)

    @property
    def categories(self) -> set[str]:
        return {rule.category for rule in self.matcher.rules}

    def graph_edges(self, doc: Doc, targets: list[Span], max_sentence_tokens: int) -> list[tuple[Span, ConTextModifier]]:
        if not targets:
            return []
        bounds = _sentence_bounds(doc, max_sentence_tokens)
        starts = [start for start, _ in bounds]

        def sentence_index(token_i: int) -> int:
            return bisect_right(starts, token_i) - 1

        targets_by_sent: dict[int, list[Span]] = {}
        for target in targets:
            targets_by_sent.setdefault(sentence_index(target.start), []).append(target)
        modifiers_by_sent: dict[int, list[ConTextModifier]] = {}
        matches = [(self.matcher.rule_map[self.nlp.vocab.strings[match_id]], start, end) for match_id, start, end in self.matcher(doc)]
        clause_ends = _exception_clause_ends(doc, matches)
        for rule, start, end in matches:
            index = sentence_index(start)
            if index not in targets_by_sent:
                continue
            sent_start, sent_end = bounds[index]
            end = min(end, sent_end)
            scope_start, scope_end = _scope(rule, start, end, sent_start, sent_end)
            if (rule.metadata or {}).get(TRIGGER_BEFORE_LAST) and end - start > 1:
                # "(is) not | dilated": the trigger stops before the finding word, which stays in the
                # backward scope, so "[bile duct] not dilated" and "not [dilated]" are both negated.
                end, scope_end = end - 1, end
            if (rule.metadata or {}).get(SCOPE_TO_COMMA):
                scope_end = next((i for i in range(end, scope_end) if doc[i].text == ","), scope_end)
            if (rule.metadata or {}).get(SCOPE_FROM_COMMA):
                scope_start = next((i + 1 for i in range(start - 1, scope_start - 1, -1) if doc[i].text == ","), scope_start)
            if (rule.metadata or {}).get(SCOPE_FROM_DASH):
                scope_start = next((i + 1 for i in range(start - 1, scope_start - 1, -1) if _spaced_dash(doc, i)), scope_start)
            if rule.direction.upper() in ("BACKWARD", "BIDIRECTIONAL"):
                scope_start = max([scope_start] + [e for s, e in clause_ends if scope_start <= s and e <= start])
            modifier = ConTextModifier(rule, start, end, None, scope_start=scope_start, scope_end=scope_end)
            modifiers_by_sent.setdefault(index, []).append(modifier)

        edges = []
        for index, modifiers in modifiers_by_sent.items():
            if self.prune_on_target_overlap:  # before update_scopes, so they do not terminate other modifiers either
                # A status mention ("family history of colon cancer" -> Z80.0) is made of trigger
                # words: its trigger must still reach the condition nested inside it.
                # Nor is a trigger that leads into a procedure ("on a CT for abdominal pain") inside it.
                targets = [t for t in targets_by_sent[index] if not _is_status(t)]
                inside = [
                    m
                    for m in modifiers
                    if any(
                        _overlaps(m.modifier_span, (t.start, t.end)) and not _after_list_break(t, m.modifier_span)
                        and not (t.label_ == "procedure" and m.modifier_span[0] < t.start)
                        for t in targets
                    )
                ]
                modifiers = [m for m in modifiers if m not in inside]
                edges.extend(_nested_edges(targets_by_sent[index], inside))
            graph = ConTextGraph(targets=targets_by_sent[index], modifiers=modifiers, prune_on_modifier_overlap=False)
            graph.update_scopes()
            graph.apply_modifiers()
            edges.extend(graph.edges)
            edges.extend(_embedded_edges(targets_by_sent[index], graph.modifiers))
        return edges


def _nested_edges(targets: list[Span], inside: list[ConTextModifier]) -> list[tuple[Span, ConTextModifier]]:
    """Edges from a negation trigger that is a word of a longer mention ("without" in "acute pancreatitis
    without necrosis or infection") to the mentions nested in that mention after it ("necrosis",
    "infection"): the longer mention keeps its own words, the conditions it denies are denied."""
    edges = []
    for modifier in inside:
        if modifier.category != "NEGATED_EXISTENCE" or modifier.direction != "FORWARD":
            continue
        m_start, m_end = modifier.modifier_span
        for outer in targets:
            if not (outer.start <= m_start and m_end <= outer.end):
                continue
            edges.extend((nested, modifier) for nested in targets
                         if nested is not outer and m_end <= nested.start and nested.end <= outer.end)
    return edges


def _exception_clause_ends(doc: Doc, matches: list[tuple[ConTextRule, int, int]]) -> list[tuple[int, int]]:
    """(start, token after its comma) of every exception clause ("other than fatigue,") closed by a comma
    in its sentence."""
    clauses = []
    for rule, start, end in matches:
        if not (rule.metadata or {}).get(EXCEPTION_CLAUSE):
            continue
        for i in range(end, len(doc)):
            if doc[i].is_sent_start:
                break
            if doc[i].text == ",":
                clauses.append((start, i + 1))
                break
    return clauses


def _spaced_dash(doc: Doc, i: int) -> bool:
    """A dash with a space on each side ("obesity - discussed"), not a hyphen inside a word."""
    return doc[i].text in ("-", "–", "—") and i > 0 and bool(doc[i - 1].whitespace_) and bool(doc[i].whitespace_)


def _after_list_break(target: Span, trigger: tuple[int, int]) -> bool:
    """The trigger lies inside the mention after a comma or semicolon of it: the mention is a loose
    window match across list items ("Hypertensive heart disease with LVH, no heart failure"), and the
    trigger is a real one, not a word of the term. Code titles put their axes after a comma with
    "not" / "without" ("Migraine without aura, not intractable", "... diabetes mellitus, without coma"):
    those stay words of the term, and so does a "no" where the mention's term says "without"."""
    doc, start, end = target.doc, target.start, target.end
    if not (start <= trigger[0] and trigger[1] <= end and any(doc[i].text in (",", ";") for i in range(start, trigger[0]))):
        return False
    word = doc[trigger[0]].lower_
    return not (word in _TITLE_QUALIFIERS or (word == "no" and _term_says_without(target)))


_TITLE_QUALIFIERS = frozenset({"not", "without", "w/o", "with"})


def _term_says_without(target: Span) -> bool:
    """Whether the mention's best candidate term has "without": its "no" then reads the term's "without"
    ("inguinal hernia with obstruction, no gangrene" is K40.30 "... with obstruction, without gangrene")."""
    candidates = target._.candidates if Span.has_extension("candidates") else ()
    term = (candidates[0].matched_term or candidates[0].description) if candidates else ""
    return " without " in f" {term.lower()} "


def _embedded_edges(targets: list[Span], modifiers: list[ConTextModifier]) -> list[tuple[Span, ConTextModifier]]:
    """Edges from a trigger inside a mention after a list break to that mention, when the words of the
    mention on the trigger's side are in its scope: the window mention "LVH, no heart failure" is
    negated like "heart failure" (medspaCy never lets a modifier modify a span it overlaps)."""
    edges = []
    for modifier in modifiers:
        if modifier.direction in ("TERMINATE", "PSEUDO"):
            continue
        m_start, m_end = modifier.modifier_span
        s_start, s_end = modifier.scope_span
        for target in targets:
            if not _after_list_break(target, (m_start, m_end)):
                continue
            if not modifier.allows(target.label_.upper()):
                continue
            after = _overlaps((s_start, s_end), (m_end, target.end)) and m_end < target.end
            before = _overlaps((s_start, s_end), (target.start, m_start))
            if after or before:
                edges.append((target, modifier))
    return edges


def _dated(target: Span, window: int = 2) -> bool:
    """A year follows the mention ("hx of ischemic stroke 2022", "hx of DVT (2019)"): a past event, even
    where "history of" otherwise describes the present illness ("3-day history of fever")."""
    doc = target.doc
    for token in doc[target.end : min(len(doc), target.end + window)]:
        if token.is_sent_start:
            break
        if _YEAR.fullmatch(token.text):
            return True
    return False


_YEAR = re.compile(r"(?:\d{1,2}/)?(?:19|20)\d\d")


_STATUS_WORDS = re.compile(r"(?:personal |family |past )?(?:history of|hx of|h/o|status post|s/p)\b", re.I)


def _is_status(span: Span) -> bool:
    """A mention of a history or status (its best candidates Z codes, or its words opening with
    "history of", "s/p": "history of R breast cancer", whose nested condition outscored the Z code)."""
    if Span.has_extension("is_status") and bool(span._.is_status):
        return True
    return _STATUS_WORDS.match(span.text) is not None


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _sentence_bounds(doc: Doc, max_tokens: int) -> list[tuple[int, int]]:
    """Token ranges of the sentences (the whole doc when none are set), cut into windows of ``max_tokens``."""
    if doc.has_annotation("SENT_START"):
        sentences = [(sent.start, sent.end) for sent in doc.sents]
    else:
        sentences = [(0, len(doc))]
    bounds = []
    for start, end in sentences:
        while end - start > max_tokens:
            bounds.append((start, start + max_tokens))
            start += max_tokens
        bounds.append((start, end))
    return bounds


def _scope(rule: ConTextRule, start: int, end: int, sent_start: int, sent_end: int) -> tuple[int, int]:
    """The scope medspaCy's ConTextModifier gives a match inside a sentence (see ``ConTextModifier.__set_scope``)."""
    direction = rule.direction.upper()
    if direction in ("TERMINATE", "PSEUDO"):
        # Their own span: medspaCy's tuple_overlaps misses a scope nested inside another, so a
        # sentence-wide terminator scope would not stop a modifier whose scope is capped by max_scope.
        return start, end
    limit = rule.max_scope
    if direction == "FORWARD":
        return end, sent_end if limit is None else min(sent_end, end + limit)
    if direction == "BACKWARD":
        return (sent_start if limit is None else max(sent_start, start - limit)), start
    if limit is None:
        return sent_start, sent_end
    return max(sent_start, start - limit), min(sent_end, end + limit)


def _phrase_options(pattern: list) -> list[list[str]] | None:
    """Per token, the words it may be ("" when optional); None unless every token is LOWER / LOWER IN, optionally "?"."""
    options = []
    for token in pattern:
        if set(token) - {"OP"} != {"LOWER"} or token.get("OP") not in (None, "?"):
            return None
        value = token["LOWER"]
        if isinstance(value, str):
            words = [value]
        elif isinstance(value, dict) and set(value) == {"IN"}:
            words = list(value["IN"])
        else:
            return None
        options.append(words + ([""] if token.get("OP") == "?" else []))
    return options


def _rules_path(rules: str) -> str:
    if rules == "codesuggest":
        return str(RULES_PATH)
    if rules == "medspacy":
        return "default"
    return rules


class AssertionDetector:
    """The ``codesuggest_assertion`` component (see the module docstring)."""

    def __init__(
        self,
        nlp: Language,
        name: str = "codesuggest_assertion",
        rules: str = "codesuggest",
        span_key: str = "mentions",
        max_sentence_tokens: int = 250,
        cross_category_termination: bool = True,
        section_status: bool = True,
    ):
        self.name = name
        self.span_key = span_key
        self.max_sentence_tokens = max_sentence_tokens
        self.section_status = section_status
        self.context = _SentenceConText(
            nlp,
            name=name,
            rules=_rules_path(rules),
            input_span_type="group",
            span_group_name=span_key,
            span_attrs=None,
            prune_on_target_overlap=True,  # a trigger inside a mention neither modifies nor terminates anything
        )
        for rule in self.context.rules:
            if rule.direction in ("TERMINATE", "PSEUDO"):
                continue
            if rule.category.startswith("NEGATED"):
                rule.terminated_by.update((NEGATION_TERMINATE, CLAUSE_TERMINATE))
            if rule.category in ("HISTORICAL", HISTORICAL_CAUSE, "RESOLVED"):
                rule.terminated_by.add(CLAUSE_TERMINATE)
            if rule.category == "HISTORICAL" and rule.direction in ("BACKWARD", "BIDIRECTIONAL"):
                rule.terminated_by.update((CAUSE_LINK, HISTORICAL_CAUSE))
            if (rule.metadata or {}).get(WORKUP):
                rule.terminated_by.add(POSSIBLE_TERMINATE)
            if cross_category_termination:
                rule.terminated_by.update(_TERMINATED_BY.get(rule.category, ()))

    def __call__(self, doc: Doc) -> Doc:
        if self.span_key not in doc.spans or len(doc.spans[self.span_key]) == 0:
            return doc
        targets = list(doc.spans[self.span_key])
        edges = self.context.graph_edges(doc, targets, self.max_sentence_tokens)
        modifiers: dict[tuple[int, int, str], list[ConTextModifier]] = {}
        for target, modifier in edges:
            modifiers.setdefault((target.start, target.end, target.label_), []).append(modifier)
        for target in targets:
            found = modifiers.get((target.start, target.end, target.label_), [])
            target._.modifiers = tuple(found)
            target._.assertion = self._assertion(target, found)
        return doc

    def _assertion(self, target: Span, modifiers: Iterable[ConTextModifier]) -> Assertion:
        section = section_of(target)
        fields: set[str] = set()
        for modifier in modifiers:
            metadata = modifier.rule.metadata or {}
            if metadata.get("hpi_neutral") and section in PRESENT_ILLNESS_SECTIONS and not _dated(target):
                continue
            fields.update(CATEGORY_FIELDS.get(modifier.category, ()))
        for modifier in modifiers:  # "concern for [X] was low", "screening for [X] was negative"
            overridden = (modifier.rule.metadata or {}).get(OVERRIDES, ())
            fields.difference_update((overridden,) if isinstance(overridden, str) else overridden)
        if self.section_status and section in SECTION_FIELDS:
            fields.add(SECTION_FIELDS[section])
        return Assertion(**{field: True for field in fields})


@Language.factory(
    "codesuggest_assertion",
    default_config={
        "rules": "codesuggest",
        "span_key": "mentions",
        "max_sentence_tokens": 250,
        "cross_category_termination": True,
        "section_status": True,
    },
)
def make_assertion(
    nlp: Language,
    name: str,
    rules: str,
    span_key: str,
    max_sentence_tokens: int,
    cross_category_termination: bool,
    section_status: bool,
) -> AssertionDetector:
    """``rules``: "codesuggest" (packaged rules), "medspacy" (medspaCy's 102 default rules) or a path to a
    ConText JSON rule file; ``span_key``: the span group of the mentions; ``max_sentence_tokens``: longer
    sentences are cut into windows of this size; ``cross_category_termination``: a trigger of another
    category ends a trigger's scope; ``section_status``: apply section-driven historical/family status."""
    return AssertionDetector(
        nlp,
        name=name,
        rules=rules,
        span_key=span_key,
        max_sentence_tokens=max_sentence_tokens,
        cross_category_termination=cross_category_termination,
        section_status=section_status,
    )


def assertion_of(span: Span) -> Assertion:
    """The assertion the ``codesuggest_assertion`` component gave a mention (all False when none)."""
    value = span._.assertion
    return value if value is not None else Assertion()
