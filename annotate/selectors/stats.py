"""Project statistics: progress per status and per annotator, label distributions."""

from __future__ import annotations

from collections import Counter, defaultdict

from django.db.models import Count, Q, Sum

from annotate.models import Annotation, Article, Assignment, Project

Status = Assignment.Status


def project_stats(*, project: Project) -> dict:
    """A fixed number of queries whatever the project size; distributions count submitted
    annotations only (work in progress is not a label yet)."""
    per_status = dict(Assignment.objects.filter(project=project).order_by()
                      .values_list("status").annotate(n=Count("pk")))
    articles = (
        Article.objects.filter(project=project).order_by()
        .annotate(submitted=Count("assignments", filter=Q(assignments__status=Status.SUBMITTED)),
                  touched=Count("assignments"))
        .aggregate(total=Count("pk"),
                   complete=Count("pk", filter=Q(submitted__gte=project.overlap)),
                   untouched=Count("pk", filter=Q(touched=0)))
    )
    annotators = []
    rows = (Assignment.objects.filter(project=project).order_by()
            .values("annotator_id", "annotator__username")
            .annotate(**{s: Count("pk", filter=Q(status=s)) for s in Status.values},
                      time_spent_seconds=Sum("time_spent_seconds"))
            .order_by("annotator__username"))
    for row in rows:
        annotators.append({"id": row.pop("annotator_id"), "username": row.pop("annotator__username"), **row})
    stance: dict[str, Counter] = defaultdict(Counter)
    by_source: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    frames: Counter = Counter()
    submitted = (Annotation.objects.filter(assignment__project=project, assignment__status=Status.SUBMITTED)
                 .values_list("stance", "frames", "assignment__article__source"))
    for ann_stance, ann_frames, source in submitted.iterator(chunk_size=2000):
        for target, label in (ann_stance or {}).items():
            stance[target][label] += 1
            by_source[source or ""][target][label] += 1
        frames.update(ann_frames or [])
    total = articles["total"]
    return {
        "articles": total,
        "overlap": project.overlap,
        "assignments": {s: per_status.get(s, 0) for s in Status.values},
        "articles_by_progress": {
            "complete": articles["complete"],
            "partial": total - articles["complete"] - articles["untouched"],
            "untouched": articles["untouched"],
        },
        "annotators": annotators,
        "stance": {t: dict(sorted(c.items())) for t, c in sorted(stance.items())},
        "stance_by_source": {s: {t: dict(sorted(c.items())) for t, c in sorted(ts.items())}
                             for s, ts in sorted(by_source.items())},
        "frames": dict(sorted(frames.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
