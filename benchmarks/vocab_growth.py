"""How much a process grows as it tokenizes notes it has not seen: spaCy adds each new word to
its vocabulary, and the tokenizer caches each new whitespace-delimited string (once the no-op
space cases are dropped, ``pipeline.nlp.drop_no_op_space_cases``, the cache works across a
note's lines). Tokenizes the CodiEsp train and dev notes once, each variant in a fresh process,
and prints the RSS growth, the vocabulary's size and the tokenizer's time per note.

    .venv/bin/python benchmarks/vocab_growth.py
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import time
from pathlib import Path


def measure(variant: str, codiesp: Path) -> None:
    import psutil
    import spacy

    from codesuggest.pipeline.nlp import drop_no_op_space_cases
    from codesuggest.training.datasets import load_codiesp

    texts = [note.text for split in ("train", "dev") for note in load_codiesp(codiesp / split)]
    nlp = spacy.blank("en")
    if variant == "dropped":
        drop_no_op_space_cases(nlp.tokenizer)
    nlp.tokenizer("warm up")
    gc.collect()
    before, vocab = psutil.Process().memory_info().rss, len(nlp.vocab)
    start = time.perf_counter()
    for text in texts:
        nlp.tokenizer(text)
    seconds = time.perf_counter() - start
    gc.collect()
    grown = psutil.Process().memory_info().rss - before
    distinct = len({chunk for text in texts for chunk in text.split()})
    print(f"{variant:8s} {len(texts)} distinct notes: RSS +{grown / 2**20:.1f} MB, vocabulary {vocab} -> {len(nlp.vocab)}, "
          f"{distinct} distinct whitespace-delimited strings, tokenizer {1000 * seconds / len(texts):.2f} ms/note")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codiesp", type=Path, default=Path("../shared/data/codiesp"))
    parser.add_argument("--variant", choices=("spacy", "dropped"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        measure(args.variant, args.codiesp)
        return
    for variant in ("spacy", "dropped"):  # a fresh process each: the vocabulary is per process
        subprocess.run([sys.executable, __file__, "--codiesp", str(args.codiesp), "--variant", variant], check=True)


if __name__ == "__main__":
    main()
