"""annotate.hotsql: hand-written statements must give exactly what the ORM gives, on
PostgreSQL and SQLite, and stay visible to query counters."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotate.hotsql import (
    Columns,
    copy_insert,
    fetch,
    fetch_one,
    insert,
    insert_many,
    insert_with_child,
    save_fields,
)
from annotate.models import Annotation, Article, Assignment, Project, Span
from annotate.selectors.annotations import (
    SCREEN_SPANS,
    span_dict,
    span_rows_sql,
    spans_and_suggestions,
    split_span_rows,
    suggestion_dict,
)
from annotate.services.queue import assignment_lock, assignment_next
from tests.factories import ArticleFactory, ProjectFactory, SpanFactory, TargetFactory, UserFactory

pytestmark = pytest.mark.django_db


def values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


@pytest.fixture
def assignment():
    project = ProjectFactory(label_schema={**ProjectFactory().label_schema, "frames_required": "at_least_one"})
    TargetFactory(project=project, key="troops")
    TargetFactory(project=project, key="sanctions")
    article = ArticleFactory(project=project, text="Kyiv 👋 said “no”.", meta={"outlet": "x", "n": [1, 2]})
    SpanFactory(article=article, start=0, end=4, label="GPE", attrs={"kind": "direct", "speaker": None})
    a = assignment_next(project=project, user=UserFactory())
    Annotation.objects.filter(assignment=a).update(stance={"troops": "AGAINST"}, frames=["Political"],
                                                   submitted_at=timezone.now() - timedelta(days=1))
    return a


@pytest.mark.parametrize("model", [Assignment, Project, Annotation, Span])
def test_loaded_instances_equal_the_orms(assignment, model):
    cols = Columns(model, "x")
    for orm in model.objects.all():
        row = fetch_one(f'SELECT {cols.sql} FROM {model._meta.db_table} x WHERE x."id" = %s', [orm.pk])
        loaded = cols.load(row)
        assert type(loaded) is model and not loaded._state.adding
        assert values(loaded) == values(orm)  # JSON decoded, datetimes aware, same types


def test_lock_loads_everything_a_write_needs_in_one_statement(assignment):
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        locked = assignment_lock(assignment.pk)
    writes = 0 if connection.features.has_select_for_update else 1  # SQLite takes the database lock first
    assert len([q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]) == 1 + writes
    assert values(locked) == values(Assignment.objects.get(pk=assignment.pk))
    assert values(locked.project) == values(assignment.project)
    assert values(locked.annotation) == values(Annotation.objects.get(assignment=assignment))
    assert sorted(locked.target_keys) == ["sanctions", "troops"]
    assert locked.text_len == len("Kyiv 👋 said “no”.")  # code points, not UTF-16 units or bytes
    with transaction.atomic():
        with_article = assignment_lock(assignment.pk, with_article=True)
    assert values(with_article.article) == values(Article.objects.get(pk=assignment.article_id))
    with transaction.atomic():
        assert assignment_lock(assignment.pk + 10_000) is None


def test_spans_and_suggestions_sorted_and_split(assignment):
    article = assignment.article
    mine = [Span.objects.create(article=article, annotation=assignment.annotation, start=s, end=s + 2,
                                label="PERSON", origin="human") for s in (8, 2)]
    other = assignment_next(project=assignment.project, user=UserFactory())  # someone else's spans: not shown
    Span.objects.create(article=article, annotation=other.annotation, start=0, end=2, label="PERSON", origin="human")
    spans, suggestions = spans_and_suggestions(article_id=article.pk, annotation_id=assignment.annotation.pk)
    assert spans == [span_dict(s) for s in (mine[1], mine[0])]
    assert suggestions == [suggestion_dict(s) for s in Span.objects.filter(article=article, annotation=None, gold=None)]
    assert suggestions[0]["attrs"] == {"kind": "direct", "speaker": None}  # JSON decoded on both databases
    with transaction.atomic():
        locked = assignment_lock(assignment.pk, with_spans=True)
    stored = {s.pk: s for s in locked.stored_spans}
    assert set(stored) == {m.pk for m in mine}
    for m in mine:
        got = stored[m.pk]
        assert (got.start, got.end, got.label, got.attrs, got.origin, got.suggestion_id, got.annotation_id,
                got.article_id) == (m.start, m.end, m.label, m.attrs, m.origin, m.suggestion_id, m.annotation_id,
                                    m.article_id)


def test_insert_and_save_fields_behave_like_save(assignment):
    before = timezone.now()
    ann = Annotation.objects.get(assignment=assignment)
    ann.notes, ann.version = "changed", ann.version + 1
    save_fields(ann, ["notes", "version", "updated_at"])
    stored = Annotation.objects.get(pk=ann.pk)
    assert (stored.notes, stored.version) == ("changed", ann.version)
    assert stored.updated_at >= before and stored.stance == {"troops": "AGAINST"}  # untouched fields kept
    other = assignment_next(project=assignment.project, user=UserFactory())
    Assignment.objects.filter(pk=other.pk).delete()
    created = insert(Assignment(project=assignment.project, article=assignment.article, annotator=UserFactory()))
    assert created.pk and values(created) == values(Assignment.objects.get(pk=created.pk))
    assert created.assigned_at >= before


def test_statements_are_counted_like_orm_queries(assignment):
    with CaptureQueriesContext(connection) as ctx:
        fetch("SELECT 1")
    assert len(ctx.captured_queries) == 1


def test_writes_in_one_round_trip_equal_separate_saves(assignment):
    ann = Annotation.objects.get(assignment=assignment)
    ann.notes, assignment.time_spent_seconds = "both", 42
    with CaptureQueriesContext(connection) as ctx:
        save_fields(ann, ["notes"], (assignment, ["time_spent_seconds"]))
    assert len(ctx.captured_queries) == (1 if connection.vendor == "postgresql" else 2)
    assert Annotation.objects.get(pk=ann.pk).notes == "both"
    assert Assignment.objects.get(pk=assignment.pk).time_spent_seconds == 42

    spans = [Span(article=assignment.article, annotation=ann, start=s, end=s + 1, label="ORG", origin="human",
                  attrs={"n": s}) for s in (3, 1, 2)]
    insert_many(spans)
    assert [values(s) for s in spans] == [values(Span.objects.get(pk=s.pk)) for s in spans]  # ids in order

    more = [Span(article=assignment.article, annotation=ann, start=s, end=s + 1, label="PERSON", origin="human",
                 attrs={"n": s}) for s in (9, 7)]
    ann.notes = "with spans"
    with CaptureQueriesContext(connection) as ctx:
        save_fields(ann, ["notes"], (assignment, ["time_spent_seconds"]), insert=more)
    assert len(ctx.captured_queries) == (1 if connection.vendor == "postgresql" else 3)
    assert [values(s) for s in more] == [values(Span.objects.get(pk=s.pk)) for s in more]
    assert Annotation.objects.get(pk=ann.pk).notes == "with spans"

    parent = Assignment(project=assignment.project, article=ArticleFactory(project=assignment.project),
                        annotator=UserFactory())
    child = Annotation(stance={"troops": "FAVOR"})
    with CaptureQueriesContext(connection) as ctx:
        insert_with_child(parent, child, "assignment")
    assert len(ctx.captured_queries) == (1 if connection.vendor == "postgresql" else 2)
    assert values(Assignment.objects.get(pk=parent.pk)) == values(parent)
    stored = Annotation.objects.get(pk=child.pk)
    assert stored.assignment_id == parent.pk and values(stored) == values(child) and stored.version == 1


def test_issue13_a_guarded_update_writes_only_at_the_expected_value(assignment):
    """save_fields(expect=…): the version check inside the UPDATE, with the same round trips."""
    ann = Annotation.objects.get(assignment=assignment)
    ann.notes, assignment.time_spent_seconds = "at v1", 7
    span = Span(article=assignment.article, annotation=ann, start=1, end=2, label="ORG", origin="human")
    with CaptureQueriesContext(connection) as ctx:
        assert save_fields(ann, ["notes"], (assignment, ["time_spent_seconds"]), insert=[span],
                           expect=("version", 1))
    assert len(ctx.captured_queries) == (1 if connection.vendor == "postgresql" else 3)
    assert Annotation.objects.get(pk=ann.pk).notes == "at v1" and span.pk
    ann.notes = "based on v0"
    assert not save_fields(ann, ["notes"], expect=("version", 0))
    assert not save_fields(ann, ["notes"], (assignment, ["time_spent_seconds"]), expect=("version", 0))
    assert Annotation.objects.get(pk=ann.pk).notes == "at v1"


def _synchronous_commit() -> str:
    return fetch_one("SHOW synchronous_commit")[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
@pytest.mark.django_db(transaction=True)  # real transactions: SET LOCAL ends with each of them
def test_only_autosaves_commit_without_waiting_for_the_disk(assignment, settings):
    assert settings.AUTOSAVE_SYNCHRONOUS_COMMIT  # the default: every write waits
    with transaction.atomic():
        assignment_lock(assignment.pk, autosave=True)
        assert _synchronous_commit() == "on"
    settings.AUTOSAVE_SYNCHRONOUS_COMMIT = False  # the trade for a busier server
    before = _synchronous_commit()
    with transaction.atomic():
        assignment_lock(assignment.pk, autosave=True)
        assert _synchronous_commit() == "off"
    assert _synchronous_commit() == before  # SET LOCAL: the next transaction waits again
    with transaction.atomic():
        assignment_lock(assignment.pk)  # submit, skip, span edits…
        assert _synchronous_commit() == before
    settings.AUTOSAVE_SYNCHRONOUS_COMMIT = True
    with transaction.atomic():
        assignment_lock(assignment.pk, autosave=True)
        assert _synchronous_commit() == before == "on"


def test_span_rows_brought_along_equal_the_separate_read(assignment):
    """The queue's statements bring the screen's spans along (span_rows_sql); same rows, same order
    (labels that sort differently by collation and by code point included)."""
    article, annotation = assignment.article, assignment.annotation
    for label in ("ORG", "org", "QUOTE_X", "QUOTES", "PERSON"):
        Span.objects.create(article=article, start=1, end=3, label=label, origin="model", attrs={"l": label})
        Span.objects.create(article=article, annotation=annotation, start=1, end=3, label=label, origin="human")
    where = 's."article_id" = %s AND ' + SCREEN_SPANS.format(annotation="%s")
    brought = split_span_rows(fetch_one(f"SELECT {span_rows_sql(where)}", [article.pk, annotation.pk])[0])
    assert brought == spans_and_suggestions(article_id=article.pk, annotation_id=annotation.pk)
    assert len(brought[0]) == 5 and len(brought[1]) == 6


def _prepared_statements() -> dict[str, tuple[int, int]]:
    """This connection's prepared statements: text → (generic plans, custom plans) so far."""
    rows = fetch("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements", prepare=False)
    return {text: (generic, custom) for text, generic, custom in rows}


postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")


@postgres_only
def test_fixed_statements_are_prepared_once_and_planned_once(assignment):
    """Django turns psycopg's prepared statements off; hotsql must turn them on for its own
    statements, or PostgreSQL parses and plans every one of them on every call."""
    sql = f'SELECT "id", "status" FROM {Assignment._meta.db_table} WHERE "id" = %s'
    for _ in range(8):
        assert fetch_one(sql, [assignment.pk])[0] == assignment.pk
    generic, custom = _prepared_statements()[sql.replace("%s", "$1")]
    assert generic + custom == 8 and generic >= 1  # PostgreSQL's plan cache settled on one plan


@postgres_only
def test_statements_whose_text_varies_are_not_prepared(assignment, settings):
    ann = Annotation.objects.get(assignment=assignment)
    before = set(_prepared_statements())
    insert_many([Span(article=assignment.article, annotation=ann, start=s, end=s + 1, label="ORG", origin="human")
                 for s in (1, 2, 3)])
    save_fields(ann, ["notes"], insert=[Span(article=assignment.article, annotation=ann, start=s, end=s + 1,
                                             label="ORG", origin="human") for s in (4, 5)])
    assert set(_prepared_statements()) == before  # one per VALUES length would crowd out the hot ones

    settings.DATABASE_PREPARED_STATEMENTS = False  # behind a pooler that cannot carry them
    fetch(f'SELECT "id" FROM {Span._meta.db_table} WHERE "start" = %s', [4])
    assert set(_prepared_statements()) == before


@postgres_only
@pytest.mark.django_db(transaction=True)  # a real ROLLBACK: psycopg then deallocates everything
def test_prepared_statements_survive_a_rollback(assignment):
    sql = f'SELECT "version" FROM {Annotation._meta.db_table} WHERE "assignment_id" = %s'
    assert fetch_one(sql, [assignment.pk]) == (1,)
    with pytest.raises(RuntimeError), transaction.atomic():
        fetch_one(sql, [assignment.pk])
        raise RuntimeError("a failed write")
    assert fetch_one(sql, [assignment.pk]) == (1,)
    assert fetch_one(sql, [assignment.pk]) == (1,)
    assert sql.replace("%s", "$1") in _prepared_statements()


@postgres_only
def test_the_annotators_hot_path_prepares_once_then_reuses(client):
    """next → autosave → submit, twice: the second round prepares nothing new (every statement
    it runs was already prepared on this connection) and its statements are planned once."""
    from tests.unit.api.world import make_world

    w = make_world(articles=4)
    client = w.client("annotator")

    def one_round():
        task = client.post(f"/api/v1/projects/{w.project.pk}/tasks/next/").json()
        doc = {"version": 1, "stance": {t.key: "FAVOR" for t in w.targets}, "frames": ["Political"],
               "primary_frame": "Political", "spans": [{"start": 0, "end": 4, "label": "PERSON"}]}
        for version in (1, 2):
            r = client.put(f"/api/v1/assignments/{task['id']}/annotation/", {**doc, "version": version},
                           format="json")
            assert r.status_code == 200, r.content
        r = client.post(f"/api/v1/assignments/{task['id']}/submit/", {"version": 3}, format="json")
        assert r.status_code == 200, r.content

    one_round()
    after_first = _prepared_statements()
    assert len(after_first) >= 5  # token, lock, writes, next's statement, …
    one_round()
    after_second = _prepared_statements()
    assert set(after_second) == set(after_first)
    assert sum(after_second[t][0] + after_second[t][1] for t in after_second) > sum(
        after_first[t][0] + after_first[t][1] for t in after_first)  # …and were run again


def _stored(article) -> dict:
    row = values(Article.objects.get(pk=article.pk))
    for volatile in ("id", "created_at", "updated_at", "external_id"):
        row.pop(volatile)
    return row


def test_copy_insert_stores_what_bulk_create_stores_for_hostile_text_and_metadata():
    """The import writes articles with COPY on PostgreSQL: tabs, newlines, backslashes, COPY's own
    end marker, emoji and JSON that orjson refuses must come back exactly as the ORM stores them."""
    project = ProjectFactory()
    texts = ["tab\there, newline\nthere, a backslash \\ and \\N, CRLF\r\n",
             "\\.\nthe line COPY ends its data with, then more",
             "🇺🇦 flags, 👨‍👩‍👧 families, e\u0301 combining, “quotes” and 'apostrophes'",
             "N", ""]
    metas = [{"outlet": "x\ty", "nested": {"list": [1, 2.5, None, True]}}, {}, {"big": 2 ** 70},
             {1: "an integer key"}, {"quote": '"', "backslash": "\\"}]
    published = [timezone.now() - timedelta(days=3), None, timezone.now(), None, timezone.now()]

    def make(tag):
        return [Article(project=project, external_id=f"{tag}-{k}", title=f"T\t{k}", source="outlet\\a",
                        url="https://example.org/a?b=c&d", published=p, meta=m, text=t, content_hash=f"{k:064d}",
                        priority=k - 2)
                for k, (t, m, p) in enumerate(zip(texts, metas, published, strict=True))]

    by_orm, by_copy = make("orm"), make("copy")
    Article.objects.bulk_create(by_orm)
    copy_insert(by_copy)
    assert all(a.pk and not a._state.adding for a in by_copy)
    assert len({a.pk for a in by_orm + by_copy}) == len(by_orm) * 2
    for a, b in zip(by_orm, by_copy, strict=True):
        assert _stored(a) == _stored(b)
        assert Article.objects.get(pk=b.pk).external_id == b.external_id
    # the sequence moved past the ids COPY took: the next ORM insert does not collide
    later = ArticleFactory(project=project)
    assert later.pk > max(a.pk for a in by_copy)
