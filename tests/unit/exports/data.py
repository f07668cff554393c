"""A small project that exercises every export rule: gold, majority, drafts, suggestions,
quotes with speakers, a span off token boundaries, and an emoji before the spans."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from annotate.models import Assignment, Gold, Span
from tests.factories import (
    AnnotationFactory,
    ArticleFactory,
    AssignmentFactory,
    GoldFactory,
    ProjectFactory,
    SpanFactory,
    TargetFactory,
    UserFactory,
)

TEXTS = [
    "🙂 Vladimir Putin warned that “Western troops would be legitimate targets,” the Kremlin said. "
    "NATO leaders met in Brussels on Monday.",
    "Emmanuel Macron said 26 countries are ready. “We will not be intimidated,” he told reporters in Paris.",
    "The European Union announced new sanctions against Russia. Officials in Berlin welcomed the move.",
    "Nobody annotated this article about Ukraine and Poland yet.",
]


def _find(text: str, needle: str) -> tuple[int, int]:
    start = text.index(needle)
    return start, start + len(needle)


@dataclass
class Demo:
    project: object
    articles: list
    annotators: list
    targets: list = field(default_factory=list)


def build_demo() -> Demo:
    project = ProjectFactory(slug="demo-export")
    targets = [TargetFactory(project=project, key="western-troops"), TargetFactory(project=project, key="sanctions")]
    a1, a2, a3 = UserFactory(username="alice"), UserFactory(username="bob"), UserFactory(username="carol")
    day = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
    articles = [
        ArticleFactory(project=project, external_id=f"ex-{i}", text=t, title=f"Title {i}" if i != 2 else "",
                       published=day + dt.timedelta(days=i), meta={"n": i, "tags": ["x"]})
        for i, t in enumerate(TEXTS)
    ]
    t0 = articles[0].text
    # Suggestions (model) on every article.
    for art in articles:
        for name in ("Vladimir Putin", "Kremlin", "NATO", "Brussels", "Emmanuel Macron", "Paris", "European Union",
                     "Russia", "Berlin", "Ukraine", "Poland"):
            if name in art.text:
                s, e = _find(art.text, name)
                label = "PERSON" if name in ("Vladimir Putin", "Emmanuel Macron") else (
                    "ORG" if name in ("Kremlin", "NATO", "European Union") else "GPE")
                SpanFactory(article=art, start=s, end=e, label=label, origin=Span.Origin.MODEL)
    # Article 0: two submitted annotators agree on spans (one off token boundaries: "ladimir Putin"
    # is expanded), disagree on a third; draft by a third annotator.
    qs, qe = _find(t0, "“Western troops would be legitimate targets,”")
    ps, pe = _find(t0, "Vladimir Putin")
    for user, stance, frames in ((a1, "AGAINST", ["Security and defense", "Political"]),
                                 (a2, "AGAINST", ["Security and defense"])):
        ann = AnnotationFactory(assignment=AssignmentFactory(article=articles[0], annotator=user,
                                                             status=Assignment.Status.SUBMITTED),
                                stance={"western-troops": stance, "sanctions": "NEUTRAL" if user == a1 else "FAVOR"},
                                frames=frames, primary_frame="Security and defense",
                                submitted_at=timezone.now())
        SpanFactory(article=articles[0], annotation=ann, start=ps + 1, end=pe, label="PERSON", origin="human")
        SpanFactory(article=articles[0], annotation=ann, start=qs, end=qe, label="QUOTE", origin="human",
                    attrs={"kind": "direct", "speaker": "Vladimir Putin", "speaker_span": {"start": ps, "end": pe}})
        if user == a1:
            s, e = _find(t0, "Brussels")
            SpanFactory(article=articles[0], annotation=ann, start=s, end=e, label="GPE", origin="human")
    AnnotationFactory(assignment=AssignmentFactory(article=articles[0], annotator=a3,
                                                   status=Assignment.Status.IN_PROGRESS),
                      stance={"western-troops": "FAVOR"}, frames=["Economic"])
    # Article 1: adjudicated gold with its own spans.
    t1 = articles[1].text
    gold = GoldFactory(article=articles[1], stance={"western-troops": "FAVOR", "sanctions": "UNRELATED"},
                       frames=["Political"], primary_frame="Political", method=Gold.Method.ADJUDICATED)
    for needle, label, attrs in (("Emmanuel Macron", "PERSON", {}), ("Paris", "GPE", {}),
                                 ("“We will not be intimidated,”", "QUOTE",
                                  {"kind": "direct", "speaker": "Emmanuel Macron",
                                   "speaker_span": dict(zip(("start", "end"), _find(t1, "Emmanuel Macron"),
                                                            strict=True))})):
        s, e = _find(t1, needle)
        SpanFactory(article=articles[1], gold=gold, start=s, end=e, label=label, origin="human", attrs=attrs)
    ann = AnnotationFactory(assignment=AssignmentFactory(article=articles[1], annotator=a1,
                                                         status=Assignment.Status.SUBMITTED),
                            stance={"western-troops": "FAVOR"}, frames=["Political"], primary_frame="Political",
                            submitted_at=timezone.now())
    # Article 2: one submitted annotation without spans → suggestions are the reference layer.
    AnnotationFactory(assignment=AssignmentFactory(article=articles[2], annotator=a2,
                                                   status=Assignment.Status.SUBMITTED),
                      stance={"sanctions": "FAVOR"}, frames=["Economic"], primary_frame="Economic",
                      submitted_at=timezone.now())
    # Article 3: nobody submitted (left out unless submitted_only is false).
    return Demo(project=project, articles=articles, annotators=[a1, a2, a3], targets=targets)


def run_export(project, fmt: str, **options):
    """Request and build an export inline (the CLI's path); returns (job, path of the file)."""
    from annotate.selectors.exports import export_file_path
    from annotate.services.exports import export_build, export_request

    job = export_request(project=project, format=fmt, options=options, enqueue=False)
    job = export_build(export_id=job.pk)
    assert job.status == "done", job.error
    return job, export_file_path(job)
