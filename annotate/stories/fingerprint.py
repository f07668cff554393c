"""Content fingerprints for near-duplicate detection: densified one-permutation MinHash.

Why not datasketch's MinHash: at ~500 shingles per article its `update_batch` (one SHA-1 per
shingle, then 128 multiply-mod passes) measured ~450 µs per article here, more than the whole
budget the import has (≥ 2,500 articles/s, see tests/benchmarks/bench_stories.py, which measures
both). One-permutation hashing (Li, Owen & Zhang 2012) with rotation densification (Shrivastava
& Li 2014) hashes each shingle once, keeps the minimum per bin, and gives a signature whose
bins agree with probability ≈ the Jaccard similarity, so it bands into LSH like MinHash does.

Shingles: word shingles, cut as the 16 bytes from the start of each word of the lower-cased,
whitespace-collapsed UTF-8 text (about three words; found and hashed with numpy, no Python
loop per word). Boilerplate added or a headline changed touches few shingles; one sentence in
ten rewritten leaves a Jaccard similarity near 0.8.
"""

from __future__ import annotations

import numpy as np

BINS = 64
BANDS = 16
ROWS = BINS // BANDS  # 4 rows per band: P(candidate) = 1-(1-J^4)^16 → 0.9998 at J=0.8, 0.12 at J=0.3
WINDOW = 16
# Fewer shingles (words) than this and the estimate is noise: the article is not fingerprinted
# (exact copies are still found by content hash).
MIN_SHINGLES = 12

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_M3 = np.uint64(0x165667B19E3779F9)
_BIN_SHIFT = np.uint64(64 - 6)  # top 6 bits pick one of 64 bins
_VALUE_SHIFT = np.uint64(26)
_LOW32 = np.uint64(0xFFFFFFFF)
_BIN_IDS = np.arange(BINS)
_BAND_SALT = (np.arange(BANDS, dtype=np.uint64) + np.uint64(1)) * _M3


# ASCII whitespace → space, in C (bytes.translate): the text is normalised without a Python loop.
_SPACES = bytes.maketrans(b"\t\n\r\x0b\x0c", b"     ")
# Between two articles of a batch (the import refuses NUL in texts): no shingle crosses it.
_GAP = b"\x00" * WINDOW
_EMPTY = np.uint64(1 << 40)  # above every 32-bit value: "no shingle in this bin"
_BIN_IDS2 = np.arange(2 * BINS)


def signatures(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(BINS uint32 values per text, whether each text could be fingerprinted), for a batch at
    once: one pass of numpy over all the batch's bytes instead of a dozen small calls per text."""
    n = len(texts)
    parts = [t.encode("utf-8").lower().translate(_SPACES) for t in texts]
    data = b" " + (_GAP + b" ").join(parts) + _GAP
    raw = np.frombuffer(data, dtype=np.uint8)
    lengths = np.fromiter((len(p) + WINDOW + 1 for p in parts), dtype=np.int64, count=n)
    starts_raw = np.concatenate(([0], np.cumsum(lengths)[:-1]))  # each article's leading space
    space = raw == 32
    # Runs of whitespace count as one space (a re-post reflowed into other paragraphs is the same text).
    keep = np.concatenate(([True], ~(space[1:] & space[:-1])))
    buf = np.ascontiguousarray(raw[keep])
    # Each article opens with a space right after the previous one's NUL gap (the first at 0).
    article_start = np.flatnonzero((buf == 32) & np.concatenate(([True], buf[:-1] == 0)))
    if len(article_start) != n:  # cannot happen with NUL-free texts; stay right if it does
        article_start = (np.cumsum(keep) - 1)[starts_raw]
    # Word-anchored shingles: the 16 bytes from the start of every word (about three words),
    # read as two little-endian integers through an overlapping strided view (no copy).
    word = np.flatnonzero((buf[:-WINDOW - 1] == 32) & (buf[1:-WINDOW] > 32)) + 1
    words = np.ndarray(shape=(len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
    h = (words[word] * _M1) ^ ((words[word + 8] * _M2) >> np.uint64(17))
    h ^= h >> np.uint64(29)
    h *= _M3
    h ^= h >> np.uint64(32)
    article = np.searchsorted(article_start, word, side="right") - 1
    sig = np.full(n * BINS, _EMPTY, dtype=np.uint64)
    np.minimum.at(sig, article * BINS + (h >> _BIN_SHIFT).astype(np.int64), (h >> _VALUE_SHIFT) & _LOW32)
    sig = sig.reshape(n, BINS)
    valid = np.bincount(article, minlength=n) >= MIN_SHINGLES
    # Densification: an empty bin borrows the next filled bin to its right (circularly), offset
    # by the distance so that borrowed values only match values borrowed the same way.
    filled = np.tile(sig != _EMPTY, 2)
    nxt = np.where(filled, _BIN_IDS2, 4 * BINS)
    nxt = np.minimum.accumulate(nxt[:, ::-1], axis=1)[:, ::-1][:, :BINS]
    nxt = np.minimum(nxt, 2 * BINS - 1)
    distance = (nxt - _BIN_IDS).astype(np.uint64)
    values = np.take_along_axis(sig, nxt % BINS, axis=1)
    dense = ((values + distance * np.uint64(0x9E3779B1)) & _LOW32).astype(np.uint32)
    return dense, valid


def signature(text: str) -> np.ndarray | None:
    """The article's BINS uint32 values, or None when it is too short to fingerprint."""
    sigs, valid = signatures([text])
    return sigs[0] if valid[0] else None


def to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u4").tobytes()


def from_bytes(raw: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(raw), dtype="<u4")


def band_keys_many(sigs: np.ndarray, project_id: int) -> np.ndarray:
    """One signed 64-bit key per band of each of these (k, BINS) signatures, salted by band and
    project (so one index serves all): (k, BANDS) int64."""
    rows = sigs.astype(np.uint64).reshape(len(sigs), BANDS, ROWS)
    h = np.broadcast_to(_BAND_SALT ^ np.uint64((project_id * 0xC2B2AE3D27D4EB4F) & 0xFFFFFFFFFFFFFFFF),
                        (len(sigs), BANDS)).copy()
    for r in range(ROWS):
        h = (h ^ rows[:, :, r]) * _M1
        h ^= h >> np.uint64(31)
    return h.view(np.int64)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two articles' shingle sets."""
    return float(np.count_nonzero(a == b)) / BINS
