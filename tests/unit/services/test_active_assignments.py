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
