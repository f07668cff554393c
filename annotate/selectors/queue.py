"""Reads for the task queue: which assignments a user may see, and their progress."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from annotate.models import Article, Assignment, Project
from annotate.selectors.annotations import annotation_document, spans_and_suggestions, split_span_rows
from annotate.selectors.membership import project_role
from annotate.services.queue import SEE_ALL, articles_available


def assignments_visible_to(*, user, project: Project | int) -> QuerySet[Assignment]:
    """Blind annotation: reviewers and admins see every assignment of the project, anybody else
    (annotators) only their own. Non-members see nothing."""
    project_id = project if isinstance(project, int) else project.pk
    role = project_role(user=user, project=project_id)
    qs = Assignment.objects.filter(project_id=project_id)
    if role in SEE_ALL:
        return qs
    if role is None:
        return qs.none()
    return qs.filter(annotator=user)


def assignment_visible(*, user, assignment_id: int) -> Assignment | None:
    """The assignment if `user` may see it (its annotator, or a reviewer/admin of its project),
    with project, article and annotator loaded; None otherwise (the API answers 404)."""
    assignment = (Assignment.objects.select_related("project", "article", "annotator", "annotation")
                  .filter(pk=assignment_id).first())
    if assignment is None:
        return None
    if assignment.annotator_id == user.pk or project_role(user=user, project=assignment.project_id) in SEE_ALL:
        return assignment
    return None


def progress_for(*, user, project: Project) -> dict:
    """The caller's counts in a project, plus how many articles the queue could still give them."""
    counts = dict(Assignment.objects.filter(project=project, annotator=user).order_by()
                  .values_list("status").annotate(n=Count("pk")))
    out = {status: counts.get(status, 0) for status in Assignment.Status.values}
    out["available"] = articles_available(project=project, user=user).count()
    out["total_articles"] = Article.objects.filter(project=project).count()
    return out


def assignment_detail(*, assignment_id: int | None = None, assignment: Assignment | None = None) -> dict:
    """Everything the annotation screen needs for one assignment, as the API renders it
    (AssignmentDetailOut). Pass `assignment` when it is already loaded with its article,
    annotator and annotation (the queue and the write services load them under their lock):
    then one query remains, for the spans and the suggestions, or none when the queue brought
    them along (`screen_rows`); by id it takes two."""
    if assignment is None:
        assignment = (Assignment.objects.select_related("article", "annotator", "annotation", "project")
                      .get(pk=assignment_id))
    a, art, annotation = assignment, assignment.article, assignment.annotation
    rows = getattr(assignment, "screen_rows", False)  # brought along by the queue's statements
    spans, suggestions = (split_span_rows(rows) if rows is not False
                          else spans_and_suggestions(article_id=art.pk, annotation_id=annotation.pk))
    span_labels = _project_of(a).span_labels
    shown = shown_suggestions(suggestions, span_labels=span_labels)
    return {
        "id": a.pk, "project": a.project_id, "status": a.status, "skip_reason": a.skip_reason,
        "annotator": {"id": a.annotator_id, "username": a.annotator.get_username()},
        "assigned_at": a.assigned_at, "last_activity_at": a.last_activity_at,
        "lease_expires_at": a.lease_expires_at, "submitted_at": a.submitted_at,
        "article": {"id": art.pk, "external_id": art.external_id, "title": art.title, "source": art.source,
                    "url": art.url, "published": art.published, "meta": art.meta, "text": art.text},
        "annotation": annotation_document(annotation, spans=spans),
        "suggestions": shown,
        "hidden_suggestions": sum(1 for s in suggestions if s["label"] not in set(span_labels)),
    }


# Which of several identical suggestions (same start, end, label) is shown: an imported span was
# chosen by a person, so it wins over a model's; then the oldest.
_ORIGIN_RANK = {"import": 0, "human": 1, "model": 2}


def _get(s, name):
    return s[name] if isinstance(s, dict) else getattr(s, name)


def shown_suggestions(suggestions: list, *, span_labels) -> list:
    """The suggestions an annotator is shown: those whose label is a span label of the project,
    each (start, end, label) once (an imported span equal to a model's span is one decision, not
    two). The others (a model's DATE in a project without DATE, a label a codebook change
    removed) stay stored and are only counted (`hidden_suggestions`). Filtered here, after the
    queue's and the lock's statements read them, so those hot statements stay as they are."""
    labels = set(span_labels)
    best: dict[tuple, object] = {}
    for s in suggestions:
        label = _get(s, "label")
        if label not in labels:
            continue
        key = (_get(s, "start"), _get(s, "end"), label)
        rank = (_ORIGIN_RANK.get(_get(s, "origin"), 3), _get(s, "id"))
        cur = best.get(key)
        if cur is None or rank < (_ORIGIN_RANK.get(_get(cur, "origin"), 3), _get(cur, "id")):
            best[key] = s
    keep = {id(s) for s in best.values()}
    return [s for s in suggestions if id(s) in keep]


def unreviewed_suggestions(*, spans: list[dict], suggestions: list, rejected, span_labels) -> list:
    """The shown suggestions the annotation has neither accepted (a span made from it, or one
    with the same start, end and label) nor rejected."""
    rejected = set(rejected or [])
    used = {s["suggestion"] for s in spans if s.get("suggestion") is not None}
    keys = {(s["start"], s["end"], s["label"]) for s in spans}
    return [s for s in shown_suggestions(suggestions, span_labels=span_labels)
            if _get(s, "id") not in rejected and _get(s, "id") not in used
            and (_get(s, "start"), _get(s, "end"), _get(s, "label")) not in keys]


def _project_of(assignment: Assignment) -> Project:
    project = assignment._state.fields_cache.get("project")
    if project is None:  # the queue's own-assignment path loads no project row: one small query
        project = assignment.project = Project.objects.only("id", "label_schema").get(pk=assignment.project_id)
    return project
