"""Approximate candidate search with scispacy's linking machinery over our own knowledge base.

The concepts are the term index's keys (order-free, synonym-normalised,
stemmed wordings of every code); the knowledge base maps each key to itself
and the term index maps it to its codes. Mentions that exact and window
matching missed are looked up here by character-3-gram TF-IDF cosine
(``CandidateGenerator``), so "hemangiomas" or a misspelt word still find
their term.

scispacy's ``create_tfidf_ann_index`` stores float16 vectors, which scipy >=
1.11 refuses, and uses HNSW settings (M=100, efConstruction=2000) that do not
finish in 14 minutes on two cores for the ICD-10-CM terms; :func:`build_ann_index` makes the same
artefacts (``LinkerPaths`` layout) with float32 vectors and M=16,
efConstruction=100, so scispacy loads them as it loads its own.
"""

from __future__ import annotations

import json
import logging
import os
from functools import lru_cache
from pathlib import Path

import joblib
import nmslib
import numpy
import scipy.sparse
from scispacy.candidate_generation import CandidateGenerator, LinkerPaths
from scispacy.linking_utils import Entity, KnowledgeBase
from sklearn.feature_extraction.text import TfidfVectorizer

from ..atomic import atomic_path
from .matcher import RawMention, Word
from .normalize import bag_key
from .terminology import TermIndex

log = logging.getLogger(__name__)
HNSW_PARAMS = {"M": 16, "efConstruction": 100, "post": 0}


def build_ann_index(index: TermIndex, out_dir: Path, progress: bool = True) -> Path:
    """Write the TF-IDF vectorizer, vectors, alias list and HNSW index into ``out_dir`` (atomically)."""
    out_dir = Path(out_dir)
    if LinkerPaths.from_directory(out_dir).is_locally_cached() if out_dir.is_dir() else False:
        return out_dir
    with atomic_path(out_dir, directory=True) as tmp:
        paths = LinkerPaths.from_directory(tmp)
        aliases = sorted(index.terms)
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), min_df=2, dtype=numpy.float32)
        vectors = vectorizer.fit_transform(aliases)
        keep = numpy.asarray(vectors.sum(axis=1)).reshape(-1) != 0  # nmslib crashes on empty vectors
        aliases = [a for a, k in zip(aliases, keep) if k]
        vectors = vectors[keep]
        if progress:
            print(f"building the approximate-search index over {len(aliases):,} terms (a few minutes, once)", flush=True)
        ann = nmslib.init(method="hnsw", space="cosinesimil_sparse", data_type=nmslib.DataType.SPARSE_VECTOR)
        ann.addDataPointBatch(vectors)
        ann.createIndex({**HNSW_PARAMS, "indexThreadQty": os.cpu_count() or 1}, print_progress=progress)
        ann.saveIndex(paths.ann_index)
        joblib.dump(vectorizer, paths.tfidf_vectorizer)
        scipy.sparse.save_npz(paths.tfidf_vectors, vectors.astype(numpy.float32))
        Path(paths.concept_aliases_list).write_text(json.dumps(aliases))
    return out_dir


@lru_cache(maxsize=2)
def load_candidate_generator(ann_dir: str, ef_search: int = 64) -> CandidateGenerator:
    paths = LinkerPaths.from_directory(ann_dir)
    aliases, vectorizer, ann_index = paths.load(ef_search=ef_search)
    kb = KnowledgeBase(Entity(concept_id=a, canonical_name=a, aliases=[a]) for a in aliases)
    return CandidateGenerator(ann_index=ann_index, tfidf_vectorizer=vectorizer, ann_concept_aliases_list=aliases, kb=kb)


class ApproximateMatcher:
    """Looks up leftover word runs in the ANN index; remembers phrases it has seen."""

    def __init__(
        self, index: TermIndex, ann_dir: str, k: int = 5, min_similarity: float = 0.7, cache_size: int = 50_000,
        ef_search: int = 16,
    ):
        self.index = index
        self.generator = load_candidate_generator(ann_dir, ef_search)
        self.k = k
        self.min_similarity = min_similarity
        self.cache: dict[str, list[tuple[str, float]]] = {}
        self.cache_size = cache_size

    def nearest_terms(self, queries: list[str]) -> list[list[tuple[str, float]]]:
        """The term keys within ``min_similarity`` of each query, sorted by key, with their cosine.

        What ``CandidateGenerator.__call__`` returns for our identity knowledge base (each alias
        is its own concept), without building its candidate objects, and with the HNSW search on
        the calling thread: nmslib's default uses every core per call, which oversubscribes the
        cores when batch workers or request threads run side by side.
        """
        generator = self.generator
        vectors = generator.vectorizer.transform(queries)
        found: list[list[tuple[str, float]]] = [[] for _ in queries]
        nonempty = numpy.flatnonzero(vectors.getnnz(axis=1))  # nmslib crashes on all-zero vectors
        if len(nonempty) == 0:
            return found
        results = generator.ann_index.knnQueryBatch(vectors[nonempty], k=self.k, num_threads=1)
        aliases = generator.ann_concept_aliases_list
        for row, (ids, distances) in zip(nonempty, results):
            hits = ((aliases[i], 1.0 - d) for i, d in zip(ids.tolist(), distances.tolist()))
            found[row] = sorted((alias, s) for alias, s in hits if s >= self.min_similarity)
        return found

    def match(self, runs: list[list[Word]]) -> list[RawMention]:
        queries = [bag_key([w.norm for w in run]) for run in runs]
        # Read into a local dict: the cache is shared by the service's request threads and may be
        # cleared by one of them between our write and our read.
        resolved = {q: self.cache[q] for q in dict.fromkeys(queries) if q in self.cache}
        missing = [q for q in dict.fromkeys(queries) if q not in resolved]
        if missing:
            resolved.update(zip(missing, self.nearest_terms(missing)))
            if len(self.cache) > self.cache_size:
                self.cache.clear()
            self.cache.update((q, resolved[q]) for q in missing)
        mentions = []
        for run, query in zip(runs, queries):
            hits = resolved[query]
            if not hits:
                continue
            mention = RawMention(run[0].start, run[-1].end)
            for key, similarity in hits:
                term = self.index.terms[key]
                mention.add(term.codes, 0.9 * similarity, term.text)
            mentions.append(mention)
        return mentions
