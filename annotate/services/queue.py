"""The task queue: who annotates which article next, skips, reopening, lease expiry.

Invariants (checked by tests/integration/test_queue_concurrency.py on PostgreSQL):
- an article holds at most `project.overlap` *active* assignments (assigned, in progress or
  submitted); skipped ones free their slot;
- an annotator never gets the same article twice (also a unique constraint on the table);
- a caller's unfinished assignment comes back before anything new;
- new work is handed out by `priority` desc, then import order (id); a project whose queue order
  is `uncertainty` (or `mix`, for a share of calls) puts the smallest prediction margin before id.
"""

from __future__ import annotations

import json
import random
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from annotate.errors import (
    AssignmentClosed,
    Conflict,
    NotAssigned,
    NotFound,
    PermissionDeniedError,
    ValidationFailed,
)
from annotate.hotsql import (
    Columns,
    column_list,
    db_datetime,
    db_values,
    fetch,
    fetch_one,
    for_update,
    insert_with_child,
    quoted,
    save_fields,
)
from annotate.models import (
    NO_MARGIN,
    Annotation,
    Article,
    ArticleFingerprint,
    Assignment,
    Membership,
    Project,
    Span,
    Target,
)
from annotate.selectors.annotations import SCREEN_SPANS, span_rows_sql
from annotate.selectors.membership import project_role
from annotate.services.audit import audit_record

Status = Assignment.Status
OPEN = (Status.ASSIGNED, Status.IN_PROGRESS)
# Statuses that occupy one of the article's `overlap` slots. A skip frees the slot for someone else.
ACTIVE = (Status.ASSIGNED, Status.IN_PROGRESS, Status.SUBMITTED)
# Roles that see (and may review) every assignment of a project.
SEE_ALL = (Membership.Role.ADMIN, Membership.Role.REVIEWER)

# Candidates examined per `next` call before giving up. A candidate is rejected only if it is
# full as of our lock, which PostgreSQL's re-check on the locked row already rules out: this
# bounds a defensive loop, it never hides work.
MAX_CANDIDATES = 50

# An annotator who leaves the tab open does not accrue more than this per write (time spent).
IDLE_CAP_SECONDS = 300


# Hot statements (annotate.hotsql): the queue and every annotation write run these.
_A, _P, _N, _R = (Columns(Assignment, "a"), Columns(Project, "p"), Columns(Annotation, "n"), Columns(Article, "r"))
_K, _CAND = Columns(Article, "k"), Columns(Article, "cand")  # the candidate, inside and outside its CTE
_ASSIGNMENT, _ARTICLE, _ANNOTATION, _TARGET = (
    Assignment._meta.db_table, Article._meta.db_table, Annotation._meta.db_table, Target._meta.db_table)
_FINGERPRINT = ArticleFingerprint._meta.db_table


def _target_keys_sql() -> str:
    agg = "JSONB_AGG" if connection.vendor == "postgresql" else "JSON_GROUP_ARRAY"
    return f'(SELECT {agg}(t."key") FROM {_TARGET} t WHERE t."project_id" = a."project_id")'


def _spans_sql() -> str:
    """The annotation's spans as one JSON array of [id, start, end, label, attrs, origin,
    suggestion_id, model_name, model_version] (folded into the lock read: one round trip less)."""
    postgres = connection.vendor == "postgresql"
    attrs = 's."attrs"' if postgres else 'JSON(s."attrs")'  # SQLite keeps JSON as text: embed it as JSON
    cols = (f's."id", s."start", s."end", s."label", {attrs}, s."origin", s."suggestion_id", '
            's."model_name", s."model_version"')
    agg = f"JSONB_AGG(JSONB_BUILD_ARRAY({cols}))" if postgres else f"JSON_GROUP_ARRAY(JSON_ARRAY({cols}))"
    return f'(SELECT {agg} FROM {Span._meta.db_table} s WHERE s."annotation_id" = n."id")'


def _stored_spans(value, *, article_id: int, annotation_id: int) -> list[Span]:
    spans = []
    for pk, start, end, label, attrs, origin, suggestion_id, model_name, model_version in _json_list(value):
        span = Span(id=pk, article_id=article_id, annotation_id=annotation_id, start=start, end=end, label=label,
                    attrs=attrs, origin=origin, suggestion_id=suggestion_id, model_name=model_name,
                    model_version=model_version)
        span._state.adding, span._state.db = False, connection.alias
        spans.append(span)
    return spans


def _json_list(value) -> list:
    return (json.loads(value) if isinstance(value, str) else value) or []


def lock_rows(qs: QuerySet, *, touch: str) -> None:
    """Take write locks on the rows of `qs` for the rest of the transaction.

    PostgreSQL: SELECT … FOR UPDATE (row locks). SQLite has no row locks: a no-op UPDATE of
    `touch` takes the database write lock at once, so the whole transaction is serialized with
    every other writer. Taking it as the *first* statement matters on SQLite: a deferred
    transaction that read first and writes later fails with SQLITE_BUSY instead of waiting.
    """
    if connection.features.has_select_for_update:
        list(qs.select_for_update(of=("self",)).values_list("pk", flat=True))
    else:
        qs.update(**{touch: F(touch)})


def queue_statistics_refresh(*, new_articles: int) -> bool:
    """After a bulk load of articles (an import), have PostgreSQL's planner statistics catch up
    at once rather than when autovacuum next looks (a minute or more). The queue's statements
    are planned from them: on a freshly loaded table the planner guessed a handful of open
    articles and sorted them all instead of reading the first in index order, and `next` cost
    20 ms instead of 0.3 (2,000 articles; it grows with the project). Runs when the table was
    never analyzed or grew by a tenth or more, as autovacuum would; True if it ran."""
    if connection.vendor != "postgresql" or new_articles <= 0:
        return False
    (estimated,) = fetch_one("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [_ARTICLE], prepare=False)
    if estimated >= 0 and new_articles < 0.1 * estimated:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {_ARTICLE}, {Span._meta.db_table}")
    return True


def articles_available(*, project: Project, user) -> QuerySet[Article]:
    """Articles the queue could give `user` now (ignores leases that a `next` call would release)."""
    taken_by_user = Assignment.objects.filter(project=project, annotator=user).values("article_id")
    return (
        Article.objects.filter(project=project)
        .exclude(pk__in=taken_by_user)
        .filter(active_assignments__lt=project.overlap)
        .exclude(fingerprint__held=True)
    )


def _renew(assignment: Assignment, project: Project, now) -> Assignment:
    assignment.lease_expires_at = now + timedelta(minutes=project.assignment_timeout_minutes)
    save_fields(assignment, ["lease_expires_at"])
    return assignment


def assignments_release_expired(*, project: Project, now=None) -> int:
    """Release open assignments whose lease expired and that hold no saved work (annotation still
    at version 1): they are deleted, so the article goes back to the queue. Assignments with
    saved work are kept (they hold their slot and return first to their annotator): deleting
    someone's work silently would be worse than a slot waiting for a reviewer to skip it.

    Concurrency: rows are locked with SKIP LOCKED, so an assignment whose annotator is saving
    right now (the save holds that row's lock and renews the lease) is left alone; a row that a
    save committed after our snapshot is re-checked by PostgreSQL against the lease condition and,
    the annotation row being locked too, against its newest version.
    """
    now = now or timezone.now()
    rows = fetch(
        f'SELECT a."id" FROM {_ASSIGNMENT} a INNER JOIN {_ANNOTATION} n ON n."assignment_id" = a."id" '
        f'WHERE a."project_id" = %s AND a."status" IN ({quoted(OPEN)}) AND a."lease_expires_at" < %s '
        f'AND n."version" = 1{for_update("a, n", skip_locked=True)}',
        [project.pk, db_datetime(now)])
    if not rows:
        return 0
    Assignment.objects.filter(pk__in=[r[0] for r in rows]).delete()
    return len(rows)


def _own_sql() -> str:
    """The SELECT list that `_load_own` reads: the caller's open assignment (alias a), its
    article (r), annotation (n) and the screen's spans and suggestions."""
    screen = span_rows_sql('s."article_id" = a."article_id" AND ' + SCREEN_SPANS.format(annotation='n."id"'))
    return f"{_A.sql}, {_R.sql}, {_N.sql}, {screen}"


def _load_own(row) -> Assignment | None:
    mine = _A.load(row)
    if mine is None:
        return None
    mine.article = _R.load(row, _A.width)
    annotation = _N.load(row, _A.width + _R.width)
    if annotation is not None:
        mine.annotation = annotation
        mine.screen_rows = row[_OWN_WIDTH - 1]  # its spans and the suggestions, for the answer (assignment_detail)
    return mine


_OWN_WIDTH = _A.width + _R.width + _N.width + 1


def _own_open_assignment(*, project: Project, user) -> Assignment | None:
    """The caller's oldest open assignment in the project, with article and annotation."""
    row = fetch_one(
        f'SELECT {_own_sql()} FROM {_ASSIGNMENT} a INNER JOIN {_ARTICLE} r ON r."id" = a."article_id" '
        f'LEFT OUTER JOIN {_ANNOTATION} n ON n."assignment_id" = a."id" '
        f'WHERE a."project_id" = %s AND a."annotator_id" = %s AND a."status" IN ({quoted(OPEN)}) '
        f'ORDER BY a."id" LIMIT 1',
        [project.pk, user.pk])
    return _load_own(row) if row else None


def by_uncertainty(project: Project) -> bool:
    """Whether this `next` hands out the least certain article first (the project's queue order:
    `uncertainty` always, `mix` for a share of the calls, `import` never)."""
    order = project.queue_order_value
    if order == "uncertainty":
        return True
    return order == "mix" and random.random() < project.queue_uncertainty_share_value


def _order_sql(a: str, uncertainty: bool) -> str:
    """Queue order: priority, then import order; by uncertainty, the smallest margin of the
    active model's prediction between the two (articles without one last, in import order).
    Only the order changes: which rows qualify and how they are locked stay the same."""
    if not uncertainty:
        return f'{a}."priority" DESC, {a}."id"'
    # The article's copy of its margin, as the partial index article_queue_uncertain orders it.
    return f'{a}."priority" DESC, COALESCE({a}."queue_margin", {NO_MARGIN!r}), {a}."id"'


def _candidate_sql(cols: Columns, *, columns: str = "", also: str = "", tried: int = 0,
                   uncertainty: bool = False) -> str:
    """The queue's rule, once for both statements that use it (`articles_available` states it
    in the ORM for the progress counts): the first article in queue order that the caller never
    had and that has fewer than `overlap` active assignments, with all its columns and locked
    (PostgreSQL: skipping articles that a concurrent `next` holds). `columns`: more columns
    (", …"); `also`: more conditions (" AND …"). Parameters: project id, overlap, user id, then `tried` article ids to skip."""
    a = cols.alias
    not_tried = f' AND {a}."id" NOT IN ({", ".join(["%s"] * tried)})' if tried else ""
    # `in_queue` (the same test as the count, kept by triggers) lets the partial index
    # article_queue_open skip the full articles instead of reading each one.
    return (f'SELECT {cols.sql}{columns} FROM {_ARTICLE} {a} WHERE {a}."project_id" = %s AND {a}."in_queue" '
            f'AND {a}."active_assignments" < %s '
            f'AND NOT EXISTS (SELECT 1 FROM {_ASSIGNMENT} x WHERE x."article_id" = {a}."id" AND x."annotator_id" = %s)'
            # Near-duplicates held back by the project's one-per-group policy (annotate.services.stories);
            # a table of its own, not in_queue, which the triggers recompute on every assignment write.
            f' AND NOT EXISTS (SELECT 1 FROM {_FINGERPRINT} h WHERE h."article_id" = {a}."id" AND h."held")'
            f'{not_tried}{also} ORDER BY {_order_sql(a, uncertainty)} LIMIT 1{for_update(a, skip_locked=True)}')


def _suggestions_of(alias: str) -> str:
    return span_rows_sql(f's."article_id" = {alias}."id" AND s."annotation_id" IS NULL AND s."gold_id" IS NULL')


def _next_candidate(*, project: Project, user, tried: list[int], uncertainty: bool = False) -> Article | None:
    """The first article the caller may get (`_candidate_sql`), locked, with its suggestions."""
    row = fetch_one(_candidate_sql(_R, columns=f", {_suggestions_of('r')}", tried=len(tried), uncertainty=uncertainty),
                    [project.pk, project.overlap, user.pk, *tried], prepare=not tried)
    if row is None:
        return None
    article = _R.load(row)
    article.screen_rows = row[-1]  # its suggestions, for the answer (assignment_detail)
    return article


def _own_or_new(*, project: Project, user, now, uncertainty: bool = False
                ) -> tuple[Assignment | None, Assignment | None]:
    """PostgreSQL, when no lease sweep is due: the whole of `next` but the user lock, in one
    statement (CTEs): the caller's open assignment if any (first element); else the first
    candidate (`_candidate_sql`: locked, re-checked against its newest version), with its new
    assignment and empty annotation inserted (second element); (None, None) when there is no
    candidate. The usual `next` (after a submit) thus costs one round trip for its reads and
    writes. The article comes from the CTE (the locked version), not from a re-read."""
    new = Assignment(project=project, annotator=user, status=Status.ASSIGNED,
                     lease_expires_at=now + timedelta(minutes=project.assignment_timeout_minutes))
    annotation = Annotation()
    from_cand = [f for f in _NEW_ASSIGNMENT_FIELDS if f.attname != "article_id"]
    row = fetch_one(
        f'WITH own AS (SELECT o."id" FROM {_ASSIGNMENT} o WHERE o."project_id" = %s AND o."annotator_id" = %s '
        f'AND o."status" IN ({quoted(OPEN)}) ORDER BY o."id" LIMIT 1), '
        f'cand AS ({_candidate_sql(_K, also=" AND NOT EXISTS (SELECT 1 FROM own)", uncertainty=uncertainty)}), '
        f'ins AS (INSERT INTO {_ASSIGNMENT} ("article_id", {column_list(from_cand)}) '
        f'SELECT cand."id", {", ".join(["%s"] * len(from_cand))} FROM cand RETURNING "id"), '
        f'ann AS (INSERT INTO {_ANNOTATION} ("assignment_id", {column_list(_NEW_ANNOTATION_FIELDS)}) '
        f'SELECT ins."id", {", ".join(["%s"] * len(_NEW_ANNOTATION_FIELDS))} FROM ins RETURNING "id") '
        f'SELECT {_own_sql()}, (SELECT "id" FROM ins), (SELECT "id" FROM ann), {_CAND.sql}, {_suggestions_of("cand")} '
        f'FROM (SELECT 1) one LEFT OUTER JOIN own ON true LEFT OUTER JOIN {_ASSIGNMENT} a ON a."id" = own."id" '
        f'LEFT OUTER JOIN {_ARTICLE} r ON r."id" = a."article_id" '
        f'LEFT OUTER JOIN {_ANNOTATION} n ON n."assignment_id" = a."id" LEFT OUTER JOIN cand ON true',
        [project.pk, user.pk, project.pk, project.overlap, user.pk,
         *db_values(new, from_cand, add=True), *db_values(annotation, _NEW_ANNOTATION_FIELDS, add=True)])
    mine = _load_own(row)
    if mine is not None:
        return mine, None
    article = _CAND.load(row, _OWN_WIDTH + 2)
    if article is None:
        return None, None
    new.pk, annotation.pk = row[_OWN_WIDTH], row[_OWN_WIDTH + 1]
    new.article = article
    for obj in (new, annotation):
        obj._state.adding, obj._state.db = False, connection.alias
    new.annotation = annotation
    new.screen_rows = row[-1]
    return None, new


_NEW_ASSIGNMENT_FIELDS = [f for f in Assignment._meta.concrete_fields if not f.primary_key]
_NEW_ANNOTATION_FIELDS = [f for f in Annotation._meta.concrete_fields if not f.primary_key and f.name != "assignment"]


_last_sweep: dict[int, float] = {}  # project id -> when this process last released expired leases


def _sweep_due(project_id: int) -> bool:
    """Whether this `next` should release expired assignments first: at most every
    QUEUE_SWEEP_SECONDS per project and process (one statement fewer on most calls). A lease
    runs for minutes, so an expired one goes back to the queue a few seconds late at most; and
    `next` always sweeps before it answers that nothing is left."""
    every = settings.QUEUE_SWEEP_SECONDS
    last = _last_sweep.get(project_id)
    return every <= 0 or last is None or time.monotonic() - last >= every


def _sweep(project: Project, now) -> int:
    if len(_last_sweep) > 10_000:
        _last_sweep.clear()
    _last_sweep[project.pk] = time.monotonic()
    return assignments_release_expired(project=project, now=now)


def _lock_user(user) -> None:
    if getattr(user, "locked_in_transaction", False) and connection.in_atomic_block:
        return  # the API's `next` locked it with the token lookup, in this transaction
    if connection.features.has_select_for_update:
        fetch(f'SELECT "id" FROM {user._meta.db_table} WHERE "id" = %s FOR UPDATE', [user.pk])
    else:
        lock_rows(user._meta.model.objects.filter(pk=user.pk), touch="last_login")


def assignment_next(*, project: Project, user) -> Assignment | None:
    """The caller's next assignment in `project`, or None when nothing is left for them.
    Returned with its article, annotation and annotator loaded (what the API's answer shows).

    Returns the caller's oldest unfinished assignment first (lease renewed). Otherwise assigns the
    first article by (priority desc, id) that has fewer than `overlap` active assignments and
    was never assigned to the caller, and creates its empty annotation (version 1).

    Why this is safe on PostgreSQL (READ COMMITTED):
    1. The caller's own row in auth_user is locked first (over the API, by the token lookup that
       opens the request's transaction), so two concurrent `next` calls of the same user (double
       click, two tabs) run one after the other: the second sees the first's assignment and
       returns it instead of taking a second article.
    2. The candidate article is taken with `FOR UPDATE SKIP LOCKED LIMIT 1` in queue order:
       concurrent callers never wait for each other, each locks a different article.
    3. The candidate's `active_assignments` is kept by triggers on the article row itself, so
       a commit that filled the article after our snapshot updated the very row we lock: FOR
       UPDATE then re-checks the condition against the newest version (EvalPlanQual) and moves
       on if it is full. While we hold the lock nobody can change the count (their trigger
       waits for our lock), so the value we read is exact until we commit: overlap holds.
    4. Locks are always taken in the order user row → article row → (writes) assignment rows;
       `next` never waits for an article lock (SKIP LOCKED) and its trigger writes only touch the
       article it holds (insert) or articles of expired rows it holds (release, whose waits
       cannot loop back: nobody holding an article waits for anything of ours), so `next`
       cannot deadlock.
    On SQLite, `lock_rows` serializes the whole transaction with every other writer, which
    makes the same steps trivially correct.
    """
    now = timezone.now()
    with transaction.atomic(savepoint=False):  # the API's `next` runs in its own transaction already
        _lock_user(user)
        sweep = _sweep_due(project.pk)
        uncertainty = by_uncertainty(project)
        combined = connection.vendor == "postgresql" and not sweep  # (a due sweep must come in between)
        if combined:
            mine, made = _own_or_new(project=project, user=user, now=now, uncertainty=uncertainty)
            if made is not None:
                made.annotator = user
                return made
        else:
            mine = _own_open_assignment(project=project, user=user)
        if mine is not None:
            mine.annotator = user  # the answer shows the username: no query for it
            return _renew(mine, project, now)
        if sweep:
            _sweep(project, now)
        tried: list[int] = []
        for _ in range(MAX_CANDIDATES):
            if combined:  # the combined statement found no candidate
                article, combined = None, False
            else:
                article = _next_candidate(project=project, user=user, tried=tried, uncertainty=uncertainty)
            if article is None and not sweep:  # before answering "nothing left", free what expired
                sweep = True
                if _sweep(project, now):
                    article = _next_candidate(project=project, user=user, tried=tried, uncertainty=uncertainty)
            if article is None:
                return None
            if article.active_assignments < project.overlap:  # as of our lock: see 3. above
                assignment = Assignment(
                    project=project, article=article, annotator=user, status=Status.ASSIGNED,
                    lease_expires_at=now + timedelta(minutes=project.assignment_timeout_minutes),
                )
                annotation = Annotation()
                insert_with_child(assignment, annotation, "assignment")  # with its empty annotation (version 1)
                assignment.annotation = annotation
                assignment.screen_rows = article.screen_rows
                return assignment
            tried.append(article.pk)
    return None


TOUCHED_FIELDS = ("time_spent_seconds", "last_activity_at", "lease_expires_at", "status")


def assignment_touch(assignment: Assignment, *, now=None, save: bool = True) -> None:
    """Record activity on an open assignment (called by every annotation write, under its lock):
    renews the lease, moves `assigned` to `in_progress`, accrues time spent. `save=False` leaves
    saving TOUCHED_FIELDS to a caller that changes the row further anyway (one UPDATE)."""
    now = now or timezone.now()
    idle = (now - assignment.last_activity_at).total_seconds() if assignment.last_activity_at else 0
    assignment.time_spent_seconds += int(max(0, min(idle, IDLE_CAP_SECONDS)))
    assignment.last_activity_at = now
    assignment.lease_expires_at = now + timedelta(minutes=assignment.project.assignment_timeout_minutes)
    if assignment.status == Status.ASSIGNED:
        assignment.status = Status.IN_PROGRESS
    if save:
        save_fields(assignment, TOUCHED_FIELDS)


def assignment_lock(assignment_id: int, *, with_article: bool = False, with_spans: bool = False,
                    autosave: bool = False) -> Assignment | None:
    """Lock one assignment row and its annotation row for a write (call inside
    transaction.atomic) and return them fresh, or None if there is no such assignment. Loaded
    with it, in the same query: its project, its annotation, `target_keys` (the project's target
    keys) and either `text_len` (the article's length in code points, for offset checks) or,
    `with_article`, the whole article and `screen_rows` (the annotation's spans and the
    suggestions: for answers that show them). `with_spans`: the annotation's spans too, as
    `stored_spans` (Span instances without `created_at`). `autosave`: this transaction commits
    without waiting for the disk on PostgreSQL (settings.AUTOSAVE_SYNCHRONOUS_COMMIT explains
    why that is safe for autosaves, and only for them). Every write to an assignment or its
    annotation goes through here, which is what makes version checks and lease expiry race-free.

    PostgreSQL: one statement, FOR UPDATE OF the assignment and the annotation rows (locking the
    joined project row would serialize the whole project). Both, because of how READ COMMITTED
    re-checks a row it had to wait for: a writer that waited for another one's lock gets the
    newest version of the rows it *locked* only, the other joined rows stay as of its snapshot.
    With the assignment alone locked, every writer waiting at version 7 still read version 7 after
    the winner wrote 8, passed the version check and wrote over it (issue 13). Locking the
    annotation too makes the waiter read 8 and answer stale_write. (The spans and suggestions
    in the same statement stay as of the snapshot: they are only used when the version read
    is current, and every change to them bumps the version.) Lock order: assignment, then
    annotation, everywhere."""
    sql, params = _lock_sql(with_article=with_article, with_spans=with_spans, autosave=autosave), [assignment_id]
    if not connection.features.has_select_for_update:
        lock_rows(Assignment.objects.filter(pk=assignment_id), touch="status")
    row = fetch_one(sql, params)
    if row is None:
        if not _annotation_made(assignment_id):
            return None
        row = fetch_one(sql, params)
    locked = _A.load(row)
    offset = _A.width
    locked.project = _P.load(row, offset)
    offset += _P.width
    annotation = locked.annotation = _N.load(row, offset)
    offset += _N.width
    locked.target_keys = _json_list(row[offset])
    if with_spans:
        locked.stored_spans = _stored_spans(row[offset + 1], article_id=locked.article_id, annotation_id=annotation.pk)
    if with_article:
        locked.article = _R.load(row, offset + 2)
        locked.screen_rows = row[offset + 2 + _R.width]
    else:
        locked.text_len = row[offset + 2]
    return locked


def _lock_sql(*, with_article: bool, with_spans: bool, autosave: bool) -> str:
    if with_article:  # and what the answer shows beside it: the spans and suggestions
        article = f'{_R.sql}, ' + span_rows_sql('s."article_id" = a."article_id" AND '
                                                + SCREEN_SPANS.format(annotation='n."id"'))
    else:
        article = 'LENGTH(r."text")'
    spans = _spans_sql() if with_spans else "NULL"
    if autosave and connection.vendor == "postgresql" and not settings.AUTOSAVE_SYNCHRONOUS_COMMIT:
        article += ", SET_CONFIG('synchronous_commit', 'off', true)"  # SET LOCAL, in the same round trip
    # An inner join: PostgreSQL cannot lock the nullable side of an outer join (see _annotation_made).
    return (f'SELECT {_A.sql}, {_P.sql}, {_N.sql}, {_target_keys_sql()}, {spans}, {article} FROM {_ASSIGNMENT} a '
            f'INNER JOIN {Project._meta.db_table} p ON p."id" = a."project_id" '
            f'INNER JOIN {_ARTICLE} r ON r."id" = a."article_id" '
            f'INNER JOIN {_ANNOTATION} n ON n."assignment_id" = a."id" '
            f'WHERE a."id" = %s{for_update("a, n")}')


def _annotation_made(assignment_id: int) -> bool:
    """For an assignment without an annotation (made outside the queue: admin, scripts): lock
    the assignment row, create its empty annotation (version 1) unless a concurrent writer just
    did, and say whether the assignment exists. Rare: the queue creates both together."""
    if connection.features.has_select_for_update:
        if not fetch(f'SELECT "id" FROM {_ASSIGNMENT} WHERE "id" = %s FOR UPDATE', [assignment_id]):
            return False
    elif not Assignment.objects.filter(pk=assignment_id).exists():
        return False
    Annotation.objects.get_or_create(assignment_id=assignment_id)
    return True


def assignment_lock_for(*, assignment: Assignment | int, user, with_article: bool = False,
                        with_spans: bool = False, autosave: bool = False) -> Assignment:
    """`assignment_lock` for a caller who wants to change the assignment: NotFound unless they
    are its annotator or a reviewer/admin of its project (blind annotation: other annotators
    cannot tell it exists), NotAssigned for a reviewer/admin who is not its annotator."""
    locked = assignment_lock(getattr(assignment, "pk", assignment), with_article=with_article, with_spans=with_spans,
                             autosave=autosave)
    if locked is not None and locked.annotator_id == user.pk:
        if with_article:
            locked.annotator = user  # the caller: no query for the username the answer shows
        return locked
    if locked is not None and project_role(user=user, project=locked.project_id) in SEE_ALL:
        raise NotAssigned("Only the annotator of this assignment may change its annotation.")
    raise NotFound("Not found.")


def assignment_skip(*, assignment: Assignment, reason: str, by) -> Assignment:
    """Close an open assignment as skipped with a reason. The article goes to someone else (the
    slot is freed), never back to this annotator. Audited (`assignment.skip`)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason: a reason is required to skip", details={"reason": ["a reason is required"]})
    with transaction.atomic():
        locked = assignment_lock(assignment.pk)
        if locked is None:
            raise NotFound("Not found.")
        if locked.status not in OPEN:
            raise AssignmentClosed(f"Assignment {locked.pk} is already {locked.status}.")
        before = _audit_state(locked)
        locked.status = Status.SKIPPED
        locked.skip_reason = reason
        locked.lease_expires_at = None
        locked.last_activity_at = timezone.now()
        locked.save(update_fields=["status", "skip_reason", "lease_expires_at", "last_activity_at"])
        audit_record(project=locked.project, by=by, action="assignment.skip", obj=locked,
                     before=before, after=_audit_state(locked))
    return locked


def reopen_refusal(*, assignment: Assignment, by, now=None) -> str | None:
    """Why `by` may not reopen this assignment, or None when they may. Reviewers and admins of
    the project may reopen anything closed; its annotator only their own submission (not a skip:
    the slot went to someone else), and only within the project's `reopen_window_hours` of
    submitting. The reason is what the annotator is told (403)."""
    if project_role(user=by, project=assignment.project_id) in (Membership.Role.REVIEWER, Membership.Role.ADMIN):
        return None
    if assignment.annotator_id != getattr(by, "pk", None):
        return "Only reviewers and admins of the project may reopen this assignment."
    hours = assignment.project.reopen_window
    if hours == 0:
        return "In this project only reviewers may reopen a submission; ask a reviewer."
    if assignment.status != Status.SUBMITTED:
        return "Only a reviewer can reopen a skipped article."
    if assignment.submitted_at is None:
        return "When this was submitted is not known; ask a reviewer to reopen it."
    closes = assignment.submitted_at + timedelta(hours=hours)
    if (now or timezone.now()) > closes:
        return (f"You can reopen your own submission for {hours} h after submitting; this one was "
                f"submitted on {assignment.submitted_at:%Y-%m-%d %H:%M} UTC. Ask a reviewer to reopen it.")
    return None


def assignment_reopen(*, assignment: Assignment, by) -> Assignment:
    """Reopen a submitted or skipped assignment: back to in_progress, annotation kept, its
    version bumped so a tab still open on the old state cannot overwrite it unknowingly (the
    bump is a versioned write like any other: under the annotation's row lock, guarded by the
    version read there). Reviewers and admins may reopen any; the annotator their own
    submission within the project's window (`reopen_refusal`, 403 otherwise). Reopening a skip
    may put the article one above `overlap`: the reviewer asked for it. Audited
    (`assignment.reopen`, with who asked)."""
    now = timezone.now()
    with transaction.atomic():
        locked = assignment_lock(assignment.pk)
        if locked is None:
            raise NotFound("Not found.")
        if locked.status in OPEN:
            raise AssignmentClosed(f"Assignment {locked.pk} is already open ({locked.status}).")
        # Checked under the lock: the submission time read is the one this reopen replaces.
        refusal = reopen_refusal(assignment=locked, by=by, now=now)
        if refusal:
            raise PermissionDeniedError(refusal, details={"reason": refusal})
        before = _audit_state(locked)
        locked.status = Status.IN_PROGRESS
        locked.submitted_at = None
        locked.skip_reason = ""
        locked.last_activity_at = now
        locked.lease_expires_at = now + timedelta(minutes=locked.project.assignment_timeout_minutes)
        annotation = locked.annotation
        checked = annotation.version
        annotation.version += 1
        annotation.submitted_at = None
        if not save_fields(annotation, ["submitted_at", "version", "updated_at"],
                           (locked, ["status", "submitted_at", "skip_reason", "last_activity_at", "lease_expires_at"]),
                           expect=("version", checked)):
            raise Conflict(f"Assignment {locked.pk} changed while it was reopened; try again.")
        audit_record(project=locked.project, by=by, action="assignment.reopen", obj=locked,
                     before=before, after=_audit_state(locked))
    return locked


def _audit_state(assignment: Assignment) -> dict:
    """What the audit trail keeps of an assignment before and after a skip or reopen."""
    state = {"status": str(assignment.status), "annotator": assignment.annotator_id,
             "article": assignment.article_id, "version": assignment.annotation.version}
    if assignment.skip_reason:
        state["skip_reason"] = assignment.skip_reason
    return state
