"""Assertion (ConText) quality and speed on the hand-written sentence set.

    PYTHONPATH=. .venv/bin/python benchmarks/assertion_f1.py [--errors] [--style us] [--tsv PATH]

Prints per-status precision / recall / F1 of the ``codesuggest_assertion``
component next to medspaCy's ConText with its default rules (the concept
spans are given; both see the same sentences (the pipeline's splitter) and sections), then
the time of sections + assertion per 400-word note. The code measured is the
``codesuggest`` on the import path: run it with ``PYTHONPATH`` set to another
checkout to compare commits on the same sentences (a status that code does not
have counts as never predicted).

medspaCy's flags map to ours: ``is_negated`` -> negated, ``is_uncertain`` or
``is_hypothetical`` -> possible, ``is_hypothetical`` -> hypothetical,
``is_historical`` -> historical, ``is_family`` -> family (it has no resolved).
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from codesuggest.pipeline import assertion as _assertion  # noqa: F401  (registers the factory)
from codesuggest.pipeline import components as _components  # noqa: F401  (codesuggest_sentences)
from codesuggest.pipeline import sections as _sections  # noqa: F401
from codesuggest.pipeline.assertion import assertion_of

ROOT = Path(__file__).resolve().parents[1]
TSV = ROOT / "tests" / "data" / "assertion_sentences.tsv"
STATUSES = ("negated", "possible", "hypothetical", "historical", "resolved", "family")


def load_cases(path: Path = TSV) -> list[dict]:
    """Rows of the TSV: text, (start, end) of the bracketed concept, expected statuses, style."""
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        expected, sentence, style, header = (line.split("\t") + [""] * 4)[:4]
        prefix = header.replace("\\n", "\n") + "\n" if header.strip() else ""
        start = sentence.index("[")
        end = sentence.index("]") - 1
        text = prefix + sentence.replace("[", "", 1).replace("]", "", 1)
        statuses = set() if expected == "present" else set(expected.split(","))
        cases.append({"text": text, "span": (len(prefix) + start, len(prefix) + end), "expected": statuses, "style": style, "line": line})
    return cases


def run(nlp: Language, text: str, spans: list[tuple[int, int]]) -> Doc:
    """Run ``nlp`` with the given character spans put in ``doc.spans["mentions"]`` before ConText."""
    doc = nlp.make_doc(text)
    for name, component in nlp.pipeline:
        if name in ("codesuggest_assertion", "medspacy_context"):
            doc.spans["mentions"] = [doc.char_span(s, e, label="diagnosis", alignment_mode="expand") for s, e in spans]
        doc = component(doc)
    return doc


def build_nlp(kind: str) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("codesuggest_sentences")
    nlp.add_pipe("codesuggest_sections")
    if kind == "codesuggest":
        nlp.add_pipe("codesuggest_assertion")
    else:
        nlp.add_pipe("medspacy_context", config={"input_span_type": "group", "span_group_name": "mentions"})
    return nlp


def predicted(kind: str, span) -> set[str]:
    """The statuses a span got (codesuggest's assertion or medspaCy's flags mapped to ours)."""
    if kind == "codesuggest":
        got = assertion_of(span)
        return {status for status in STATUSES if getattr(got, status, False)}
    flags = {
        "negated": span._.is_negated,
        "possible": span._.is_uncertain or span._.is_hypothetical,
        "hypothetical": span._.is_hypothetical,
        "historical": span._.is_historical,
        "family": span._.is_family,
    }
    return {status for status, value in flags.items() if value}


def evaluate(kind: str, cases: list[dict]) -> tuple[dict[str, tuple[float, float, float, int]], list[str]]:
    nlp = build_nlp(kind)
    counts = {status: [0, 0, 0] for status in STATUSES}  # tp, fp, fn
    errors = []
    for case in cases:
        doc = run(nlp, case["text"], [case["span"]])
        got_set = predicted(kind, doc.spans["mentions"][0])
        for status in STATUSES:
            if status in got_set and status in case["expected"]:
                counts[status][0] += 1
            elif status in got_set:
                counts[status][1] += 1
            elif status in case["expected"]:
                counts[status][2] += 1
        if got_set != case["expected"]:
            errors.append(f"expected {sorted(case['expected']) or 'present'} got {sorted(got_set) or 'present'}: {case['line']}")
    scores = {}
    for status, (tp, fp, fn) in counts.items():
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[status] = (precision, recall, f1, tp + fn)
    return scores, errors


def speed(cases: list[dict], words: int = 400, repeats: int = 200) -> dict[str, float]:
    """Median milliseconds of each component on a note of about ``words`` words (mentions given)."""
    rng = random.Random(0)
    headers = ["CHIEF COMPLAINT:", "HISTORY OF PRESENT ILLNESS:", "PAST MEDICAL HISTORY:", "FAMILY HISTORY:",
               "REVIEW OF SYSTEMS:", "PHYSICAL EXAM:", "ASSESSMENT AND PLAN:"]
    single = [case for case in cases if "\n" not in case["text"]]
    parts, spans, length, n_words = [], [], 0, 0
    while n_words < words:
        if rng.random() < 0.2:
            chunk = "\n" + rng.choice(headers) + "\n"
            parts.append(chunk)
            length += len(chunk)
        case = rng.choice(single)
        start, end = case["span"]
        spans.append((length + start, length + end))
        chunk = case["text"] + " "
        parts.append(chunk)
        length += len(chunk)
        n_words += len(case["text"].split())
    text = "".join(parts)
    nlp = build_nlp("codesuggest")
    sentencizer, sections, context = (nlp.get_pipe(name) for name in ("codesuggest_sentences", "codesuggest_sections", "codesuggest_assertion"))
    timings: dict[str, list[float]] = {"sections": [], "assertion": []}
    for _ in range(repeats):
        doc = sentencizer(nlp.make_doc(text))
        started = time.perf_counter()
        sections(doc)
        timings["sections"].append(time.perf_counter() - started)
        doc.spans["mentions"] = [doc.char_span(s, e, label="diagnosis", alignment_mode="expand") for s, e in spans]
        started = time.perf_counter()
        context(doc)
        timings["assertion"].append(time.perf_counter() - started)
    print(f"speed note: {len(text.split())} words, {len(doc)} tokens, {len(spans)} mentions, {len(doc._.sections)} sections")
    return {name: statistics.median(values) * 1000 for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tsv", type=Path, default=TSV)
    parser.add_argument("--errors", action="store_true", help="list the sentences codesuggest gets wrong")
    parser.add_argument("--style", choices=("us", "case"), help="only the sentences of this style")
    parser.add_argument("--no-speed", action="store_true", help="skip the timing")
    args = parser.parse_args()
    cases = load_cases(args.tsv)
    if args.style:
        cases = [case for case in cases if case["style"] == args.style]
    ours, errors = evaluate("codesuggest", cases)
    base, _ = evaluate("medspacy", cases)
    print(f"{len(cases)} sentences ({sum(c['style'] == 'us' for c in cases)} US notes, {sum(c['style'] == 'case' for c in cases)} case reports)")
    print(f"{'status':<12} {'n':>4} | {'codesuggest P/R/F1':^22} | {'medspaCy default P/R/F1':^24}")
    for status in STATUSES:
        p, r, f, n = ours[status]
        bp, br, bf, _ = base[status]
        print(f"{status:<12} {n:>4} | {p:6.3f} {r:6.3f} {f:6.3f}    | {bp:6.3f} {br:6.3f} {bf:6.3f}")
    if not args.no_speed:
        ms = speed(cases)
        print(f"per 400-word note (median): sections {ms['sections']:.2f} ms, assertion {ms['assertion']:.2f} ms")
    if args.errors:
        print(f"\n{len(errors)} sentences with a wrong status set:")
        for error in errors:
            print(" ", error)


if __name__ == "__main__":
    main()
