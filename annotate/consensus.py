"""Majority decisions over several annotators' labels (used for majority gold and exports)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence


def majority_label(labels: Iterable[str | None]) -> str | None:
    """The label chosen by more than half of the annotators who gave one; None on a tie or no majority."""
    given = [label for label in labels if label]
    if len(given) <= 2:  # the common case (one or two annotators), without a Counter per call
        if not given:
            return None
        return given[0] if len(given) == 1 or given[0] == given[1] else None
    label, count = Counter(given).most_common(1)[0]
    return label if count * 2 > len(given) else None


def majority_frames(frame_sets: Sequence[Iterable[str]]) -> list[str]:
    """Frames chosen by more than half of the annotators, in first-seen order (deterministic)."""
    if not frame_sets:
        return []
    counts: Counter[str] = Counter()
    order: dict[str, int] = {}
    for frames in frame_sets:
        for frame in dict.fromkeys(frames):
            counts[frame] += 1
            order.setdefault(frame, len(order))
    return sorted((f for f, c in counts.items() if c * 2 > len(frame_sets)), key=order.__getitem__)
