"""The Django admin writes only through the services (issue 14 point 7): annotations,
assignments, spans and gold are read-only; an annotated article's text is immutable and the
content hash follows the text otherwise; the last admin of a project stays; label schema edits
are validated by the project service's rules."""

from __future__ import annotations

import pytest
from django.test import Client

from annotate.models import Annotation, Article, Gold, Membership, Project, text_hash
from annotate.services.gold import gold_edit
from tests.factories import ArticleFactory, MembershipFactory, ProjectFactory, TargetFactory, UserFactory
from tests.unit.agreement.builders import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(UserFactory(username="site-admin", is_staff=True, is_superuser=True))
    return client


def form_data(client, url, **changes) -> dict:
    """What the admin's change form would post back unchanged, plus `changes`."""
    page = client.get(url)
    assert page.status_code == 200
    data = {}
    form = page.context["adminform"].form
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = "" if value is None else value
    for inline in page.context["inline_admin_formsets"]:
        fs = inline.formset
        for key, value in fs.management_form.initial.items():
            data[f"{fs.prefix}-{key}"] = value
    data.update(changes)
    return data


def test_annotations_assignments_spans_and_gold_are_read_only(admin_client):
    project = ProjectFactory()
    article = ArticleFactory(project=project)
    ann = submit(article, UserFactory(), {}, spans=[(0, 14, "PERSON")])
    gold = gold_edit(article=article, by=UserFactory(), stance={}, frames=[], spans=[])
    span = ann.spans.get()
    for model, obj in (("annotation", ann), ("assignment", ann.assignment), ("span", span), ("gold", gold)):
        change = f"/admin/annotate/{model}/{obj.pk}/change/"
        assert admin_client.get(change).status_code == 200, model  # still readable
        assert admin_client.get(f"/admin/annotate/{model}/add/").status_code == 403, model
        assert admin_client.post(f"/admin/annotate/{model}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    # An edit of the annotation cannot slip past its version (the annotator's next autosave would
    # silently overwrite it): the change form refuses to save.
    admin_client.post(f"/admin/annotate/annotation/{ann.pk}/change/", {"notes": "edited", "version": ann.version})
    ann.refresh_from_db()
    assert (ann.notes, ann.version) == ("", 1)
    assert Gold.objects.filter(pk=gold.pk).exists() and span.__class__.objects.filter(pk=span.pk).exists()


def test_article_text_is_immutable_once_annotated_and_the_hash_follows_it_before(admin_client):
    fresh = ArticleFactory(text="Old text.")
    url = f"/admin/annotate/article/{fresh.pk}/change/"
    r = admin_client.post(url, form_data(admin_client, url, text="New text, no spans yet."))
    assert r.status_code == 302, r.content[:500]
    fresh.refresh_from_db()
    assert (fresh.text, fresh.content_hash) == ("New text, no spans yet.", text_hash("New text, no spans yet."))

    annotated = ArticleFactory(text="Vladimir Putin spoke.")
    submit(annotated, UserFactory(), {}, spans=[(0, 14, "PERSON")])
    url = f"/admin/annotate/article/{annotated.pk}/change/"
    page = admin_client.get(url)
    assert 'name="text"' not in page.content.decode()
    r = admin_client.post(url, form_data(admin_client, url, text="Every offset moves.", title="A new title"))
    assert r.status_code == 302
    annotated.refresh_from_db()
    assert (annotated.text, annotated.title) == ("Vladimir Putin spoke.", "A new title")
    assert annotated.content_hash == text_hash("Vladimir Putin spoke.")


def test_the_last_admin_of_a_project_can_be_neither_demoted_nor_removed(admin_client):
    project = ProjectFactory()
    only = MembershipFactory(project=project, role=Membership.Role.ADMIN)
    url = f"/admin/annotate/membership/{only.pk}/change/"
    r = admin_client.post(url, form_data(admin_client, url, role="annotator"))
    assert r.status_code == 200 and "a project needs at least one admin" in r.content.decode()
    assert admin_client.post(f"/admin/annotate/membership/{only.pk}/delete/", {"post": "yes"}).status_code == 403
    r = admin_client.post("/admin/annotate/membership/", {"action": "delete_selected", "_selected_action": [only.pk],
                                                          "post": "yes"})
    only.refresh_from_db()
    assert only.role == Membership.Role.ADMIN

    second = MembershipFactory(project=project, role=Membership.Role.ADMIN)
    r = admin_client.post(url, form_data(admin_client, url, role="annotator"))
    assert r.status_code == 302
    only.refresh_from_db()
    assert only.role == Membership.Role.ANNOTATOR
    assert admin_client.post(f"/admin/annotate/membership/{second.pk}/delete/", {"post": "yes"}).status_code == 403


def test_project_label_schema_edits_obey_the_project_service(admin_client):
    project = ProjectFactory()
    TargetFactory(project=project, key="troops")
    url = f"/admin/annotate/project/{project.pk}/change/"
    before = Project.objects.get(pk=project.pk).label_schema
    bad = form_data(admin_client, url, label_schema='{"stance_labels": "FAVOR"}')
    r = admin_client.post(url, bad)
    assert r.status_code == 200 and "stance_labels" in r.content.decode()
    assert Project.objects.get(pk=project.pk).label_schema == before
    good = form_data(admin_client, url, description="edited in the admin")
    assert admin_client.post(url, good).status_code == 302
    assert Project.objects.get(pk=project.pk).description == "edited in the admin"
    assert Annotation.objects.count() == 0 and Article.objects.count() == 0
