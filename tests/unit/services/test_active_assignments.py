"""Article.active_assignments, kept by database triggers: the task queue trusts it for overlap."""

import pytest

from annotate.models import Article, Assignment
from annotate.services.annotations import annotation_update
from annotate.services.queue import assignment_next, assignment_reopen, assignment_skip
from tests.factories import ArticleFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def active(article) -> int:
    return Article.objects.get(pk=article.pk).active_assignments


def counted(article) -> int:
    return Assignment.objects.filter(article=article, status__in=["assigned", "in_progress", "submitted"]).count()


def test_every_kind_of_write_keeps_the_count():
    project = ProjectFactory(overlap=3)
    article = ArticleFactory(project=project)
    other = ArticleFactory(project=project)
    reviewer = UserFactory(is_superuser=True)
    users = [UserFactory() for _ in range(3)]
    a, b, c = (assignment_next(project=project, user=u) for u in users)
    assert active(article) == counted(article) == 3
    annotation_update(assignment=a, by=users[0], version=1, fields={"notes": "x"}, replace=False)  # in progress
    assert active(article) == 3
    assignment_skip(assignment=b, reason="off topic", by=users[1])
    assert active(article) == counted(article) == 2
    assignment_reopen(assignment=b, by=reviewer)
    assert active(article) == 3
    Assignment.objects.filter(pk=c.pk).update(status="skipped")  # bulk update, admin, scripts
    assert active(article) == counted(article) == 2
    Assignment.objects.filter(pk=a.pk).update(article=other)  # moved to another article
    assert (active(article), active(other)) == (counted(article), counted(other)) == (1, 1)
    Assignment.objects.filter(pk=b.pk).delete()
    assert active(article) == counted(article) == 0
    Assignment.objects.create(project=project, article=article, annotator=UserFactory(), status="submitted")
    assert active(article) == counted(article) == 1


def test_a_full_save_of_an_article_does_not_write_the_count_back():
    project = ProjectFactory(overlap=2)
    article = ArticleFactory(project=project)
    stale = Article.objects.get(pk=article.pk)  # read before the assignment: active_assignments 0
    assignment_next(project=project, user=UserFactory())
    stale.title = "edited in the admin"
    stale.save()
    fresh = Article.objects.get(pk=article.pk)
    assert (fresh.title, fresh.active_assignments) == ("edited in the admin", 1)


def test_queue_respects_overlap_through_the_count():
    project = ProjectFactory(overlap=2)
    first, second = ArticleFactory(project=project), ArticleFactory(project=project)
    got = [assignment_next(project=project, user=UserFactory()).article_id for _ in range(4)]
    assert got == [first.pk, first.pk, second.pk, second.pk]
    assert assignment_next(project=project, user=UserFactory()) is None


def in_queue_everywhere_matches_the_rule(project) -> None:
    """in_queue is the queue's rule (fewer than `overlap` active assignments) on every article."""
    project.refresh_from_db()
    for article in Article.objects.filter(project=project):
        assert article.active_assignments == counted(article), article.pk
        assert article.in_queue == (article.active_assignments < project.overlap), article.pk


def test_in_queue_follows_every_write_and_every_change_of_overlap():
    from annotate.models import Project
    from annotate.services.projects import project_update

    project = ProjectFactory(overlap=2)
    first, second = ArticleFactory(project=project), ArticleFactory(project=project)
    users = [UserFactory() for _ in range(3)]
    a, b = (assignment_next(project=project, user=u) for u in users[:2])
    assert (a.article_id, b.article_id) == (first.pk, first.pk)
    assert not Article.objects.get(pk=first.pk).in_queue and Article.objects.get(pk=second.pk).in_queue
    in_queue_everywhere_matches_the_rule(project)
    assignment_skip(assignment=b, reason="off topic", by=users[1])  # a slot frees up
    assert Article.objects.get(pk=first.pk).in_queue
    assert assignment_next(project=project, user=users[2]).article_id == first.pk
    in_queue_everywhere_matches_the_rule(project)
    project_update(project=project, overlap=3)  # the service
    in_queue_everywhere_matches_the_rule(project)
    assert Article.objects.get(pk=first.pk).in_queue
    Project.objects.filter(pk=project.pk).update(overlap=1)  # a bulk update, the admin, a script
    in_queue_everywhere_matches_the_rule(project)
    assert not Article.objects.get(pk=first.pk).in_queue
    project.overlap = 2
    project.save()
    in_queue_everywhere_matches_the_rule(project)
    Assignment.objects.filter(article=first).delete()
    in_queue_everywhere_matches_the_rule(project)
    assert Article.objects.get(pk=first.pk).in_queue


def test_a_full_save_of_an_article_does_not_write_in_queue_back():
    project = ProjectFactory(overlap=1)
    article = ArticleFactory(project=project)
    stale = Article.objects.get(pk=article.pk)  # read while it still had a free slot
    assignment_next(project=project, user=UserFactory())
    stale.title = "edited in the admin"
    stale.save()
    assert not Article.objects.get(pk=article.pk).in_queue


def test_the_triggers_that_keep_the_queue_exist():
    """SQLite drops a table's triggers whenever a migration rebuilds that table (any new column):
    a later migration on Article, Assignment or Project must re-create them, or the queue breaks."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            expected = {"annotate_assignment_active_count", "annotate_assignment_active_count_update",
                        "annotate_project_overlap_changed"}
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            expected = {"annotate_assignment_active_insert", "annotate_assignment_active_delete",
                        "annotate_assignment_active_update", "annotate_project_overlap_changed"}
        assert {name for (name,) in cursor.fetchall()} >= expected
