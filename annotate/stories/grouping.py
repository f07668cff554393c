"""Story grouping: TF-IDF cosine similarity within a publication-date window, then connected
components of the "similar enough" graph.

Memory is bounded by the articles of one date window, not by the project: the caller streams
the articles in date order (undated first). Pass 1 tokenises each text once, counts document
frequencies and spills every block's term counts to a temporary file; pass 2 reads the blocks
back in the same order, weights them (the same TF-IDF as scikit-learn's TfidfVectorizer with
sublinear tf, smooth idf, L2 norm and its min_df/max_df pruning) and compares each block with
itself and the articles of the preceding `window_days` only, keeping the pairs at or above the
threshold. What stays in memory for the whole run is a few numbers per article (id, time,
union-find parent), the vocabulary, and the undated articles' vectors: those are compared with
every article (by text alone) and flagged. No n × n matrix, no matrix of all n articles and no
text of more than one article at a time.

Why TF-IDF and not the spaCy pipeline's vectors: the installed pipeline (en_core_web_sm) has no
static word vectors (its `doc.vector` is context tensors, which separate topics poorly), and
TF-IDF over words measured perfect purity on the demo + Wikinews test set
(tests/benchmarks/bench_stories.py) at a fraction of the cost.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix, vstack
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

BLOCK = 1000
# Words of the first part of the text carry the event; boilerplate trails (and repeats across
# an outlet's articles). Long texts are cut here, which also bounds the vectoriser's work.
MAX_CHARS = 6000
# Below this many articles the corpus is too small for min_df / max_df pruning.
SMALL = 50


@dataclass
class Grouping:
    """`ids[i]` is in group `labels[i]`; groups are numbered by their smallest article id."""

    ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    labels: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    undated: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # article ids
    pairs: int = 0

    @property
    def groups(self) -> list[list[int]]:
        """Every group as a sorted list of article ids, in group order (small results, tests)."""
        out: list[list[int]] = [[] for _ in range(int(self.labels.max()) + 1)] if len(self.labels) else []
        for article_id, label in sorted(zip(self.ids.tolist(), self.labels.tolist(), strict=True)):
            out[label].append(article_id)
        return out


class _UnionFind:
    def __init__(self, n: int):
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def link(self, a: np.ndarray, b: np.ndarray) -> None:
        """Union every pair (a[k], b[k]): Python work per article touched, not per pair (10k copies
        of one text make 50M pairs, which are reduced to their components with scipy first)."""
        if not len(a):
            return
        nodes, inverse = np.unique(np.concatenate((a, b)), return_inverse=True)
        m = len(nodes)
        graph = csr_matrix((np.ones(len(a), dtype=np.int8), (inverse[:len(a)], inverse[len(a):])), shape=(m, m))
        _, comp = connected_components(graph, directed=False)
        order = np.argsort(comp, kind="stable")
        comp, members = comp[order], nodes[order].tolist()
        first = np.flatnonzero(np.concatenate(([True], comp[1:] != comp[:-1]))).tolist() + [m]
        for s, e in zip(first[:-1], first[1:], strict=True):
            head = members[s]
            for other in members[s + 1:e]:
                self.union(head, other)


@dataclass
class _Spill:
    """Pass 1's output: per block, the CSR parts of its raw term counts, in a temporary file."""

    file: object
    blocks: list[int] = field(default_factory=list)  # rows per block
    df: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def write(self, indptr: list[int], indices: list[int], counts: list[int], vocab_size: int) -> None:
        cols = np.array(indices, dtype=np.int32)
        np.save(self.file, np.array(indptr, dtype=np.int64))
        np.save(self.file, cols)
        np.save(self.file, np.array(counts, dtype=np.int32))
        if len(self.df) < vocab_size:  # the vocabulary grows: double, so copies stay few
            grown = np.zeros(max(vocab_size, 2 * len(self.df)), np.int64)
            grown[:len(self.df)] = self.df
            self.df = grown
        self.df[:vocab_size] += np.bincount(cols, minlength=vocab_size)
        self.blocks.append(len(indptr) - 1)

    def read(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        self.file.seek(0)
        for _ in self.blocks:
            yield np.load(self.file), np.load(self.file), np.load(self.file)


def _analyzer():
    return TfidfVectorizer(lowercase=True, stop_words="english", ngram_range=(1, 1),
                           token_pattern=r"(?u)\b[^\W\d_][\w'’-]+\b").build_analyzer()


def _spill(stream: Iterable[tuple[int, dt.datetime | None, str]], spill: _Spill,
           ids: list[int], times: list[float]) -> int:
    """Pass 1: tokenise each text once; returns the vocabulary's size."""
    analyse = _analyzer()
    vocabulary: defaultdict[str, int] = defaultdict()
    vocabulary.default_factory = vocabulary.__len__
    indptr, indices, counts = [0], [], []
    last = -np.inf
    for article_id, published, text in stream:
        t = np.nan if published is None else published.timestamp()
        if not np.isnan(t):
            if t < last:
                raise ValueError("group_articles: articles must come undated first, then by date")
            last = t
        elif last > -np.inf:
            raise ValueError("group_articles: articles must come undated first, then by date")
        ids.append(article_id)
        times.append(t)
        terms = Counter(analyse(text[:MAX_CHARS]))
        indices.extend(vocabulary[w] for w in terms)
        counts.extend(terms.values())
        indptr.append(len(indices))
        if len(indptr) > BLOCK:
            spill.write(indptr, indices, counts, len(vocabulary))
            indptr, indices, counts = [0], [], []
    if len(indptr) > 1:
        spill.write(indptr, indices, counts, len(vocabulary))
    return len(vocabulary)


def _weighted(spill: _Spill, n: int, vocab_size: int) -> Iterator[csr_matrix]:
    """Pass 2: each block's L2-normalised TF-IDF rows over the pruned vocabulary."""
    df = spill.df[:vocab_size]
    keep = df >= 1 if n < SMALL else (df >= 2) & (df <= 0.5 * n)
    width = int(keep.sum())
    column = np.where(keep, np.cumsum(keep) - 1, -1)
    idf = (np.log((1 + n) / (1 + df[keep])) + 1).astype(np.float64)
    for indptr, cols, counts in spill.read():
        if not width:  # nothing left to compare by: every article alone
            yield csr_matrix((len(indptr) - 1, 1), dtype=np.float32)
            continue
        rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        new = column[cols]
        ok = new >= 0
        values = (1 + np.log(counts[ok])) * idf[new[ok]]
        block = csr_matrix((values, (rows[ok], new[ok])), shape=(len(indptr) - 1, width), dtype=np.float64)
        yield normalize(block).astype(np.float32)


def _pairs(block: csr_matrix, other: csr_matrix, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    sims = (block @ other.T).tocoo()
    keep = sims.data >= threshold
    return sims.row[keep], sims.col[keep]


def group_articles(stream: Iterable[tuple[int, dt.datetime | None, str]], *, window_days: int,
                   threshold: float) -> Grouping:
    """stream: (article id, published, text), undated articles first, then by date; read once
    (the texts of 100k articles are never all in memory, nor all their vectors). Every article
    ends in exactly one group."""
    ids: list[int] = []
    times_list: list[float] = []
    with tempfile.TemporaryFile(prefix="standpoint-stories-") as fh:
        spill = _Spill(fh)
        vocab_size = _spill(stream, spill, ids, times_list)
        n = len(ids)
        if not n:
            return Grouping()
        times = np.array(times_list, dtype=np.float64)
        del times_list
        undated_n = int(np.isnan(times).sum())  # the first undated_n articles
        span = window_days * 86400.0
        uf = _UnionFind(n)
        pairs = 0
        undated_parts: list[csr_matrix] = []
        u: csr_matrix | None = None
        window: list[tuple[int, csr_matrix]] = []  # (first global row, block) of the last days
        start = 0
        for block in _weighted(spill, n, vocab_size):
            stop = start + block.shape[0]
            rows = np.arange(start, stop)
            if start < undated_n:  # undated blocks come first; a block may hold both
                cut = min(stop, undated_n) - start
                undated_parts.append(block[:cut])
                block, rows, start = block[cut:], rows[cut:], start + cut
            if block.shape[0]:
                t_first = times[start]
                window = [(s, b) for s, b in window if times[s + b.shape[0] - 1] >= t_first - span]
                base = window[0][0] if window else start
                others = vstack([b for _, b in window] + [block], format="csr")
                r, c = _pairs(block, others, threshold)
                r, c = rows[r], base + c
                # Each pair once (the later article finds the earlier), within its own window.
                ok = (c < r) & (np.abs(times[r] - times[c]) <= span)
                uf.link(r[ok], c[ok])
                pairs += int(ok.sum())
                if undated_n:
                    if u is None:
                        u = vstack(undated_parts, format="csr")
                    r, c = _pairs(block, u, threshold)
                    uf.link(rows[r], c)
                    pairs += len(r)
                window.append((start, block))
            start = stop
        if undated_n:
            if u is None:
                u = vstack(undated_parts, format="csr")
            for s in range(0, undated_n, BLOCK):
                r, c = _pairs(u[s:s + BLOCK], u, threshold)
                r = r + s
                ok = c < r
                uf.link(r[ok], c[ok])
                pairs += int(ok.sum())
    roots = np.fromiter((uf.find(i) for i in range(n)), dtype=np.int64, count=n)
    id_array = np.array(ids, dtype=np.int64)
    del ids
    # Groups numbered by their smallest article id (the order a caller lists them in).
    smallest = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(smallest, roots, id_array)
    first_ids = smallest[roots]
    _, labels = np.unique(first_ids, return_inverse=True)
    return Grouping(ids=id_array, labels=labels.astype(np.int64), undated=id_array[:undated_n].copy(), pairs=pairs)
