"""annotate.services.audit: events outlive what they describe and roll back with their change."""

from __future__ import annotations

import pytest
from django.db import transaction

from annotate.models import AuditEvent
from annotate.selectors.audit import audit_events_for
from annotate.services.audit import audit_record
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_event_keeps_actor_and_object_names_after_both_are_deleted():
    project = ProjectFactory()
    admin = UserFactory(username="alice")
    membership = MembershipFactory(project=project)
    audit_record(project=project, by=admin, action="membership.delete", obj=membership,
                 before={"user": membership.user.username, "role": membership.role}, after=None)
    membership.delete()
    admin.delete()
    event = AuditEvent.objects.get()
    assert (event.actor, event.actor_name, event.object_type) == (None, "alice", "membership")
    assert event.before["role"] == "annotator" and event.after is None


def test_event_rolls_back_with_the_change_it_records():
    project = ProjectFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(project=project, by=None, action="gold.create", object_type="gold", object_id=1)
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.exists()


def test_unknown_action_is_refused_and_prefix_filter_selects_a_family():
    project = ProjectFactory()
    with pytest.raises(ValueError, match="unknown audit action"):
        audit_record(project=project, by=None, action="gold.typo")
    for action in ("gold.create", "gold.update", "codebook.change"):
        audit_record(project=project, by=None, action=action, object_type="x")
    assert [e.action for e in audit_events_for(project=project, action="gold.")] == ["gold.update", "gold.create"]
    assert audit_events_for(project=project, action="codebook.change").count() == 1
