"""Story grouping: TF-IDF cosine similarity within a publication-date window, then group-average
linkage over the "similar enough" pairs.

Linkage: the pairs ≥ threshold are taken from the most to the least similar, and the groups of a
pair merge only when their group-average similarity (the mean cosine over ALL their cross pairs,
exactly, from the sums of their members' unit vectors) is ≥ threshold too. Connected components
(single linkage, before) let one stray pair merge two stories and chains run from event to event:
on 300 real ABC news texts of one month it made one group of 149; group-average at most 26, with
no completeness lost on the test sets (research: /work/scratch/storyq/REPORT.md). The headline
(the text's first line) counts three times, since it names the event.

Memory is bounded by the articles of one date window, not by the project: the caller streams
the articles in date order (undated first). Pass 1 tokenises each text once, counts document
frequencies and spills every block's term counts to a temporary file; pass 2 reads the blocks
back in the same order, weights them (the same TF-IDF as scikit-learn's TfidfVectorizer with
sublinear tf, smooth idf, L2 norm and its min_df/max_df pruning), compares each block with
itself and the articles of the preceding `window_days` only, keeps each article's
MAX_NEIGHBOURS most similar pairs at or above the threshold and links them, block by block.
What stays in memory for the whole run is a few numbers per article (id, time, union-find
parent, group size and newest date), the vocabulary, the sum vectors of the groups that can
still receive a pair (newest article within the window), and the undated articles' vectors and
groups: those are compared with every article (by text alone) and flagged. No n × n matrix, no
matrix of all n articles and no text of more than one article at a time.

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
from itertools import chain

import numpy as np
from scipy.sparse import csr_matrix, vstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

BLOCK = 1000
# Words of the first part of the text carry the event; boilerplate trails (and repeats across
# an outlet's articles). Long texts are cut here, which also bounds the vectoriser's work.
MAX_CHARS = 6000
# Below this many articles the corpus is too small for min_df / max_df pruning.
SMALL = 50
TITLE_WEIGHT = 3  # the first line (headline) counted three times
TITLE_CHARS = 300  # a longer first line is a paragraph, not a headline
# Candidate pairs kept per article (its most similar earlier ones): bounds the pairs of a story of
# thousands of near-copies, whose every pair is similar, to a number per article.
MAX_NEIGHBOURS = 32


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


class _Groups:
    """Union-find whose roots hold their group's size and the sum of its members' unit vectors (sparse,
    sorted indices): the mean cosine over all cross pairs of two groups is sA·sB / (|A| |B|), exactly.

    A sum is kept only while its group can still receive a pair: a dated group whose newest article is
    more than the window older than the block being processed is done (`forget`); groups holding an
    undated article (their root is one of the first `undated_n` rows) may be paired at any time and keep
    theirs. Singletons hold no sum: their row is read from the current window (`rows`)."""

    def __init__(self, n: int, times: np.ndarray, undated_n: int):
        self.parent = np.arange(n)
        self.size = np.ones(n, dtype=np.int64)
        self.newest = times.copy()  # per root: its newest article's time (NaN only for undated roots)
        self.undated_n = undated_n
        self.sums: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # roots of groups > 1 still open
        self.rows = None  # (i) -> (indices, values) of article i's unit vector, set per block

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return int(root)

    def forget(self, before: float) -> None:
        done = [root for root in self.sums if root >= self.undated_n and self.newest[root] < before]
        for root in done:
            del self.sums[root]

    def _vec(self, root: int) -> tuple[np.ndarray, np.ndarray]:
        got = self.sums.get(root)
        if got is not None:
            return got
        if self.size[root] > 1:
            raise RuntimeError("story grouping: a pair reached a group whose window had closed")
        indices, values = self.rows(root)
        return indices, values.astype(np.float64)

    def average(self, a: int, b: int) -> float:
        ia, va = self._vec(a)
        ib, vb = self._vec(b)
        if len(ia) > len(ib):
            ia, va, ib, vb = ib, vb, ia, va
        if not len(ia):
            return 0.0
        pos = np.minimum(np.searchsorted(ib, ia), len(ib) - 1)  # the smaller looked up in the larger
        hit = ib[pos] == ia
        return float(va[hit] @ vb[pos[hit]]) / float(self.size[a] * self.size[b])

    def merge(self, a: int, b: int) -> None:
        ia, va = self._vec(a)
        ib, vb = self._vec(b)
        owned = b in self.sums
        if len(ia) > len(ib):
            ia, va, ib, vb = ib, vb, ia, va
            owned = a in self.sums
        # O(larger + smaller · log larger), in place when no term is new: a group that grows one
        # article at a time (10k copies of one text) stays cheap.
        keys, vals = ib, (vb if owned else vb.copy())
        if len(ia) and len(ib):
            pos = np.minimum(np.searchsorted(ib, ia), len(ib) - 1)
            hit = ib[pos] == ia
            vals[pos[hit]] += va[hit]
            if not hit.all():
                at = np.searchsorted(ib, ia[~hit])
                keys, vals = np.insert(ib, at, ia[~hit]), np.insert(vals, at, va[~hit])
        elif len(ia):
            keys, vals = ia, va.copy()
        root, other = min(a, b), max(a, b)
        self.parent[other] = root
        self.size[root] += self.size[other]
        self.newest[root] = np.fmax(self.newest[root], self.newest[other])
        self.sums.pop(other, None)
        self.sums[root] = (keys, vals)

    def link(self, r: np.ndarray, c: np.ndarray, s: np.ndarray, threshold: float) -> int:
        """Group-average linkage over one block's candidate pairs (r later than c): each article's
        MAX_NEIGHBOURS most similar, then from the most to the least similar pair, two groups merge
        only when their mean cross-pair cosine is ≥ threshold too. Returns the pairs considered."""
        r, c, s = _top(r, c, s, MAX_NEIGHBOURS)
        order = np.argsort(-s, kind="stable")
        for x, y in zip(r[order].tolist(), c[order].tolist(), strict=True):
            ra, rb = self.find(x), self.find(y)
            if ra != rb and self.average(ra, rb) >= threshold:
                self.merge(ra, rb)
        return len(r)


def _top(r: np.ndarray, c: np.ndarray, s: np.ndarray, k: int):
    """At most k entries per row r, the most similar."""
    if len(r) == 0:
        return r, c, s
    order = np.lexsort((-s, r))
    r, c, s = r[order], c[order], s[order]
    starts = np.r_[0, np.flatnonzero(np.diff(r)) + 1]
    rank = np.arange(len(r)) - np.repeat(starts, np.diff(np.r_[starts, len(r)]))
    keep = rank < k
    return r[keep], c[keep], s[keep]


def _rows(matrix: csr_matrix, base: int, u: csr_matrix | None, undated_n: int):
    def row(i: int) -> tuple[np.ndarray, np.ndarray]:
        m, j = (u, i) if i < undated_n else (matrix, i - base)
        lo, hi = m.indptr[j], m.indptr[j + 1]
        return m.indices[lo:hi], m.data[lo:hi]
    return row


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


def _boost(text: str) -> str:
    """The first line is the headline (the caller passes f"{title}\\n{text}"): it names the event, so
    it counts TITLE_WEIGHT times; a first line longer than TITLE_CHARS is a paragraph, counted once."""
    first = text.split("\n", 1)[0].strip()
    if first and len(first) <= TITLE_CHARS:
        text = (first + "\n") * (TITLE_WEIGHT - 1) + text
    return text[:MAX_CHARS]


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
        terms = Counter(analyse(_boost(text)))
        indices.extend(vocabulary[w] for w in terms)
        counts.extend(terms.values())
        indptr.append(len(indices))
        if len(indptr) > BLOCK:
            spill.write(indptr, indices, counts, len(vocabulary))
            indptr, indices, counts = [0], [], []
    if len(indptr) > 1:
        spill.write(indptr, indices, counts, len(vocabulary))
    return len(vocabulary)


class _Weights:
    """The TF-IDF weighting of a corpus from its document frequencies: scikit-learn's pruning
    (min_df / max_df), smooth idf, sublinear tf, L2 norm."""

    def __init__(self, df: np.ndarray, n: int):
        keep = df >= 1 if n < SMALL else (df >= 2) & (df <= 0.5 * n)
        self.width = int(keep.sum())
        self.column = np.where(keep, np.cumsum(keep) - 1, -1)
        self.idf = (np.log((1 + n) / (1 + df[keep])) + 1).astype(np.float64)

    def rows(self, indptr: np.ndarray, cols: np.ndarray, counts: np.ndarray) -> csr_matrix:
        if not self.width:  # nothing left to compare by: every article alone
            return csr_matrix((len(indptr) - 1, 1), dtype=np.float32)
        rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        new = self.column[cols]
        ok = new >= 0
        values = (1 + np.log(counts[ok])) * self.idf[new[ok]]
        block = csr_matrix((values, (rows[ok], new[ok])), shape=(len(indptr) - 1, self.width), dtype=np.float64)
        return normalize(block).astype(np.float32)


def _weighted(spill: _Spill, n: int, vocab_size: int) -> Iterator[csr_matrix]:
    """Pass 2: each block's L2-normalised TF-IDF rows over the pruned vocabulary."""
    weights = _Weights(spill.df[:vocab_size], n)
    for indptr, cols, counts in spill.read():
        yield weights.rows(indptr, cols, counts)


def _pairs(block: csr_matrix, other: csr_matrix, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sims = (block @ other.T).tocoo()
    keep = sims.data >= threshold
    return sims.row[keep], sims.col[keep], sims.data[keep]


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
        groups = _Groups(n, times, undated_n)
        pairs = 0
        undated_parts: list[csr_matrix] = []
        u: csr_matrix | None = None
        window: list[tuple[int, csr_matrix]] = []  # (first global row, block) of the last days
        start = 0
        for block in _weighted(spill, n, vocab_size):
            block.sort_indices()
            stop = start + block.shape[0]
            rows = np.arange(start, stop)
            if start < undated_n:  # undated blocks come first; a block may hold both
                cut = min(stop, undated_n) - start
                undated_parts.append(block[:cut])
                block, rows, start = block[cut:], rows[cut:], start + cut
                if start == undated_n:
                    u = vstack(undated_parts, format="csr")
                    u.sort_indices()
                    del undated_parts
            if block.shape[0]:
                t_first = times[start]
                window = [(s, b) for s, b in window if times[s + b.shape[0] - 1] >= t_first - span]
                groups.forget(t_first - span)
                base = window[0][0] if window else start
                others = vstack([b for _, b in window] + [block], format="csr")
                others.sort_indices()
                r, c, v = _pairs(block, others, threshold)
                r, c = rows[r], base + c
                # Each pair once (the later article finds the earlier), within its own window.
                ok = (c < r) & (np.abs(times[r] - times[c]) <= span)
                r, c, v = r[ok], c[ok], v[ok]
                if undated_n:
                    ur, uc, uv = _pairs(block, u, threshold)
                    r, c, v = np.concatenate((r, rows[ur])), np.concatenate((c, uc)), np.concatenate((v, uv))
                groups.rows = _rows(others, base, u, undated_n)
                pairs += groups.link(r, c, v, threshold)
                window.append((start, block))
            start = stop
        if u is not None:
            pairs += _undated_pairs(groups, u, threshold)
    roots = np.fromiter((groups.find(i) for i in range(n)), dtype=np.int64, count=n)
    id_array = np.array(ids, dtype=np.int64)
    del ids
    # Groups numbered by their smallest article id (the order a caller lists them in).
    smallest = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(smallest, roots, id_array)
    first_ids = smallest[roots]
    _, labels = np.unique(first_ids, return_inverse=True)
    return Grouping(ids=id_array, labels=labels.astype(np.int64), undated=id_array[:undated_n].copy(), pairs=pairs)


def _undated_pairs(groups: _Groups, u: csr_matrix, threshold: float) -> int:
    """The undated articles among themselves (by text alone), after every dated block: taking them
    first instead let undated groups form before their dated articles joined and split stories the
    whole-corpus order keeps (demo + Wikinews at t = 0.25); last, the research sets S1-S9 score the
    same as sorting every pair of the corpus at once."""
    groups.rows = _rows(u, 0, u, u.shape[0])
    pairs = 0
    for s in range(0, u.shape[0], BLOCK):
        r, c, v = _pairs(u[s:s + BLOCK], u, threshold)
        r = r + s
        ok = c < r
        pairs += groups.link(r[ok], c[ok], v[ok], threshold)
    return pairs


@dataclass
class Attachment:
    """One group after an incremental assignment: the existing stories it holds (sorted; more than
    one when new articles bridged them, empty for a new story) and the new articles in it."""

    stories: list[int]
    articles: list[int]


def assign_new(existing: Iterable[tuple[int, dt.datetime | None, str, int]],
               new: Iterable[tuple[int, dt.datetime | None, str]], *, window_days: int,
               threshold: float) -> list[Attachment]:
    """Attach new articles to existing stories, or group them into new ones, by the rule of
    `group_articles`: TF-IDF cosine ≥ threshold within the date window (undated: by text alone),
    each new article's MAX_NEIGHBOURS most similar pairs taken from the most similar down, and two
    groups joining only when their group-average similarity is ≥ threshold too. An existing story
    enters as one group (its size and the sum of its members' unit vectors), so the average is
    over all its members, exactly as a full regroup would see it.

    existing: (article id, published, text, story id) of every member of each story that a new
    article could reach (the caller selects the stories within the window); new: (article id,
    published, text). The idf is that of these articles: a full regroup, which weighs by the whole
    project, can differ at the margin. Existing articles are not compared among themselves; that
    is what makes it cheap."""
    analyse = _analyzer()
    vocabulary: defaultdict[str, int] = defaultdict()
    vocabulary.default_factory = vocabulary.__len__
    indptr, indices, counts = [0], [], []
    ids: list[int] = []
    times_list: list[float] = []
    story_list: list[int] = []
    for article_id, published, text, story in chain(existing, ((a, p, t, -1) for a, p, t in new)):
        ids.append(article_id)
        times_list.append(np.nan if published is None else published.timestamp())
        story_list.append(story)
        terms = Counter(analyse(_boost(text)))
        indices.extend(vocabulary[w] for w in terms)
        counts.extend(terms.values())
        indptr.append(len(indices))
    story = np.array(story_list, dtype=np.int64)
    n, ne = len(ids), int((story >= 0).sum())
    if n == ne:
        return []
    if (story[ne:] >= 0).any():
        raise ValueError("assign_new: existing articles must come before new ones")
    cols = np.array(indices, dtype=np.int64)
    weights = _Weights(np.bincount(cols, minlength=len(vocabulary)), n)
    matrix = weights.rows(np.array(indptr, dtype=np.int64), cols, np.array(counts, dtype=np.int64))
    matrix.sort_indices()
    del indices, counts, cols
    id_array, times = np.array(ids, dtype=np.int64), np.array(times_list, dtype=np.float64)
    span = window_days * 86400.0

    # Nodes: each existing story (0..k-1), then each new article (k..).
    story_ids, story_node = np.unique(story[:ne], return_inverse=True)
    k, nn = len(story_ids), n - ne
    node = np.concatenate((story_node, k + np.arange(nn)))
    groups = _Groups(k + nn, np.zeros(k + nn), undated_n=k + nn)  # no window closes: `forget` is never called
    if k:
        groups.size[:k] = np.bincount(story_node, minlength=k)
        members = csr_matrix((np.ones(ne), (story_node, np.arange(ne))), shape=(k, ne))
        sums = (members @ matrix[:ne].astype(np.float64)).tocsr()
        sums.sort_indices()
        for j in range(k):
            lo, hi = sums.indptr[j], sums.indptr[j + 1]
            groups.sums[j] = (sums.indices[lo:hi].copy(), sums.data[lo:hi].copy())

    def row(i: int) -> tuple[np.ndarray, np.ndarray]:
        j = ne + i - k
        lo, hi = matrix.indptr[j], matrix.indptr[j + 1]
        return matrix.indices[lo:hi], matrix.data[lo:hi]

    groups.rows = row
    # The full grouping's reading order (undated first, then by date, then by id): of two new
    # articles, the later one finds the earlier.
    order = np.lexsort((id_array, np.nan_to_num(times, nan=-np.inf)))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    sims = (matrix[ne:] @ matrix.T).tocoo()
    r, c, s = sims.row.astype(np.int64) + ne, sims.col.astype(np.int64), sims.data
    keep = (s >= threshold) & (r != c) & ((c < ne) | (rank[r] > rank[c]))
    r, c, s = r[keep], c[keep], s[keep]
    dated = ~np.isnan(times[r]) & ~np.isnan(times[c])
    near = ~dated | (np.abs(times[r] - times[c]) <= span)
    r, c, s = r[near], c[near], s[near]
    # As in group_articles: the pairs that involve a dated article first, undated among themselves last.
    both_undated = np.isnan(times[r]) & np.isnan(times[c])
    for part in (~both_undated, both_undated):
        groups.link(node[r[part]], node[c[part]], s[part], threshold)

    by_root: dict[int, Attachment] = {}
    for j in range(k + nn):
        root = groups.find(j)
        group = by_root.setdefault(root, Attachment([], []))
        if j < k:
            group.stories.append(int(story_ids[j]))
        else:
            group.articles.append(int(id_array[ne + j - k]))
    return [g for g in by_root.values() if g.articles]
