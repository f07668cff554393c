"""Content fingerprints for near-duplicate detection: densified one-permutation MinHash.

Why not datasketch's MinHash: at ~500 shingles per article its `update_batch` (one SHA-1 per
shingle, then 128 multiply-mod passes) measured ~450 µs per article here, more than the whole
budget the import has (≥ 2,500 articles/s, see tests/benchmarks/bench_stories.py, which measures
both). One-permutation hashing (Li, Owen & Zhang 2012) with rotation densification (Shrivastava
& Li 2014) hashes each shingle once, keeps the minimum per bin, and gives a signature whose
bins agree with probability ≈ the Jaccard similarity, so it bands into LSH like MinHash does.

Shingles: 16-byte windows of the lower-cased, whitespace-collapsed UTF-8 text, every byte offset,
sampled by hash (one in eight: the same shingle is kept or dropped in every article, so the
sampled sets' Jaccard estimates the full sets'). Boilerplate added or a headline changed touches
few shingles; 10% of sentences rewritten leaves ~0.8 Jaccard.
"""

from __future__ import annotations

import numpy as np

BINS = 64
BANDS = 16
ROWS = BINS // BANDS  # 4 rows per band: P(candidate) = 1-(1-J^4)^16 → 0.9998 at J=0.8, 0.12 at J=0.3
WINDOW = 16
SAMPLE_MASK = np.uint64(7)  # keep 1 shingle in 8
# Fewer sampled shingles than this and the estimate is noise: the article is not fingerprinted
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


def _shingle_hashes(text: str) -> np.ndarray:
    data = " ".join(text.lower().split()).encode("utf-8")
    n = len(data) - WINDOW + 1
    if n <= 0:
        return np.empty(0, np.uint64)
    # Every 8-byte window as one little-endian integer: an overlapping strided view, no copy.
    words = np.ndarray(shape=(len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
    h = (words[:n] * _M1) ^ ((words[8:8 + n] * _M2) >> np.uint64(17))
    h ^= h >> np.uint64(29)
    h *= _M3
    h ^= h >> np.uint64(32)
    return h[(h & SAMPLE_MASK) == 0]


def signature(text: str) -> np.ndarray | None:
    """The article's BINS uint32 values, or None when it is too short to fingerprint."""
    h = _shingle_hashes(text)
    if len(h) < MIN_SHINGLES:
        return None
    h.sort()
    bins = (h >> _BIN_SHIFT).astype(np.intp)
    first = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    filled_bins = bins[first]
    values = ((h[first] >> _VALUE_SHIFT) & _LOW32).astype(np.uint64)
    # Densification: an empty bin borrows the next filled bin to its right (circularly), offset
    # by the distance so that borrowed values only match values borrowed the same way.
    pos = np.searchsorted(filled_bins, _BIN_IDS) % len(filled_bins)
    distance = (filled_bins[pos] - _BIN_IDS) % BINS
    sig = (values[pos] + distance.astype(np.uint64) * np.uint64(0x9E3779B1)) & _LOW32
    return sig.astype(np.uint32)


def to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u4").tobytes()


def from_bytes(raw: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(raw), dtype="<u4")


def band_keys(sig: np.ndarray, project_id: int) -> list[int]:
    """One signed 64-bit key per band, salted by band and project (so one index serves all)."""
    rows = sig.astype(np.uint64).reshape(BANDS, ROWS)
    h = _BAND_SALT ^ np.uint64((project_id * 0xC2B2AE3D27D4EB4F) & 0xFFFFFFFFFFFFFFFF)
    for r in range(ROWS):
        h = (h ^ rows[:, r]) * _M1
        h ^= h >> np.uint64(31)
    return h.view(np.int64).tolist()


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two articles' shingle sets."""
    return float(np.count_nonzero(a == b)) / BINS
