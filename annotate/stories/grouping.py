"""Story grouping: TF-IDF cosine similarity within a publication-date window, then connected
components of the "similar enough" graph.

Memory stays flat in the number of articles: the TF-IDF matrix is sparse, and similarities are
computed one block of articles at a time against the articles of their date window only
(dated articles sorted by date; a block of ≤ BLOCK rows × its window), keeping only the pairs at
or above the threshold. Undated articles are compared with every article (by text alone) and
flagged. No dense n × n matrix is ever built.

Why TF-IDF and not the spaCy pipeline's vectors: the installed pipeline (en_core_web_sm) has no
static word vectors (its `doc.vector` is context tensors, which separate topics poorly), and
TF-IDF over word uni- and bigrams measured perfect purity on the demo + Wikinews test set
(tests/benchmarks/bench_stories.py) at a fraction of the cost.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer

BLOCK = 1000
# Words of the first part of the text carry the event; boilerplate trails (and repeats across
# an outlet's articles). Long texts are cut here, which also bounds the vectoriser's work.
MAX_CHARS = 6000


@dataclass
class Grouping:
    groups: list[list[int]]
    undated: set[int] = field(default_factory=set)
    pairs: int = 0


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


def _vectorise(texts: Iterable[str]) -> csr_matrix:
    # Two passes would need the texts twice: min_df/max_df are set for a large corpus, and a
    # small one (the vocabulary then is small too) is refitted without them.
    texts = iter(texts)
    head = [t for _, t in zip(range(50), texts, strict=False)]
    small = len(head) < 50
    vectoriser = TfidfVectorizer(
        lowercase=True, stop_words="english", ngram_range=(1, 1), sublinear_tf=True,
        min_df=1 if small else 2, max_df=1.0 if small else 0.5, dtype=np.float32,
        token_pattern=r"(?u)\b[^\W\d_][\w'’-]+\b")
    try:
        return vectoriser.fit_transform(head if small else _chain(head, texts)).tocsr()
    except ValueError:  # every text is stop words, numbers or one letter long: nothing to compare
        return csr_matrix((0, 1), dtype=np.float32)


def _chain(head: list[str], rest: Iterable[str]) -> Iterable[str]:
    yield from head
    yield from rest


def _link(uf: _UnionFind, rows: np.ndarray, block: csr_matrix, window: csr_matrix, cols: np.ndarray,
          threshold: float) -> int:
    sims = (block @ window.T).tocoo()
    keep = sims.data >= threshold
    n = 0
    for r, c in zip(rows[sims.row[keep]], cols[sims.col[keep]], strict=True):
        if r != c:
            uf.union(int(r), int(c))
            n += 1
    return n


def group_articles(stream: Iterable[tuple[int, dt.datetime | None, str]], *, window_days: int,
                   threshold: float) -> Grouping:
    """stream: (article id, published, text), read once (the texts of 100k articles are never
    all in memory, only their vectors). Every article ends in exactly one group."""
    rows: list[tuple[int, dt.datetime | None]] = []

    def texts():
        for article_id, published, text in stream:
            rows.append((article_id, published))
            yield text[:MAX_CHARS]

    matrix = _vectorise(texts())
    if not rows:
        return Grouping(groups=[])
    ids = [r[0] for r in rows]
    n = len(rows)
    if matrix.shape[0] != n:  # nothing to vectorise: every article alone
        matrix = csr_matrix((n, 1), dtype=np.float32)
    rows = [(r[0], None, None, r[1]) for r in rows]
    uf = _UnionFind(n)
    dated = sorted((i for i in range(n) if rows[i][3] is not None), key=lambda i: rows[i][3])
    undated = [i for i in range(n) if rows[i][3] is None]
    times = [rows[i][3].timestamp() for i in dated]
    span = window_days * 86400.0
    dated_idx = np.array(dated, dtype=np.int64)
    pairs = 0
    for start in range(0, len(dated), BLOCK):
        stop = min(start + BLOCK, len(dated))
        # The window of the whole block: from the first one's date - w to the last one's + w.
        lo = bisect_left(times, times[start] - span)
        hi = bisect_right(times, times[stop - 1] + span)
        block_rows, window_cols = dated_idx[start:stop], dated_idx[lo:hi]
        sims = (matrix[block_rows] @ matrix[window_cols].T).tocoo()
        # Pairs inside the block's window but outside their own window are dropped here.
        ok = sims.data >= threshold
        r_i, c_i = sims.row[ok], sims.col[ok]
        for a, b in zip(r_i, c_i, strict=True):
            ra, rb = int(block_rows[a]), int(window_cols[b])
            if ra != rb and abs(times[start + a] - times[lo + b]) <= span:
                uf.union(ra, rb)
                pairs += 1
    if undated:
        everyone = np.arange(n)
        undated_idx = np.array(undated, dtype=np.int64)
        for start in range(0, len(undated), BLOCK):
            block_rows = undated_idx[start:start + BLOCK]
            for wstart in range(0, n, BLOCK * 10):
                cols = everyone[wstart:wstart + BLOCK * 10]
                pairs += _link(uf, block_rows, matrix[block_rows], matrix[cols], cols, threshold)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(uf.find(i), []).append(ids[i])
    groups = sorted(members.values(), key=lambda g: g[0])
    return Grouping(groups=groups, undated={ids[i] for i in undated}, pairs=pairs)
