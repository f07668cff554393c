"""Per-annotator throughput for the progress dashboard: how much each annotator submits per day,
and the median time they spend on an article."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, timedelta

from django.utils import timezone

from annotate.models import Assignment, Project

DEFAULT_DAYS = 14  # two working weeks: long enough to see a trend, short enough for one chart


def annotator_throughput(*, project: Project, days: int = DEFAULT_DAYS) -> dict:
    """Per annotator over submitted assignments: total, median and mean seconds per article, and
    submissions per UTC day for the last `days` days (zero-filled, oldest first).

    Time per article is the active time the queue recorded (`time_spent_seconds`); when none was
    recorded (0, e.g. imported work) the wall time from assignment to submission stands in. One
    query, streamed."""
    today = timezone.now().astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    per_user: dict[int, dict] = {}
    seconds: dict[int, list[int]] = defaultdict(list)
    per_day: dict[int, Counter] = defaultdict(Counter)
    rows = (Assignment.objects.filter(project=project, status=Assignment.Status.SUBMITTED)
            .order_by("annotator_id", "id")
            .values_list("annotator_id", "annotator__username", "time_spent_seconds", "assigned_at", "submitted_at"))
    for uid, username, spent, assigned_at, submitted_at in rows.iterator(chunk_size=2000):
        per_user.setdefault(uid, {"id": uid, "username": username, "last_submitted_at": None})
        if not spent and submitted_at and assigned_at:
            spent = max(0, int((submitted_at - assigned_at).total_seconds()))
        seconds[uid].append(spent)
        if submitted_at:
            last = per_user[uid]["last_submitted_at"]
            per_user[uid]["last_submitted_at"] = submitted_at if last is None else max(last, submitted_at)
            day = submitted_at.astimezone(UTC).date()
            if day >= first:
                per_day[uid][day] += 1
    dates = [first + timedelta(days=i) for i in range(days)]
    annotators = []
    for uid, info in sorted(per_user.items(), key=lambda kv: kv[1]["username"]):
        times = seconds[uid]
        annotators.append({
            **info,
            "submitted": len(times),
            "median_seconds": statistics.median(times) if times else None,
            "mean_seconds": round(statistics.fmean(times), 1) if times else None,
            "per_day": [per_day[uid].get(d, 0) for d in dates],
        })
    return {"days": [d.isoformat() for d in dates], "annotators": annotators}
