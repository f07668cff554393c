"""The audit trail: every decision that shapes the dataset is recorded by the service that makes it.

Call `audit_record` inside the same transaction as the change, so a rolled-back change leaves no
event and a committed one always has its event. Actions are stable dotted names; clients and the
/manage/ audit screen filter on them.
"""

from __future__ import annotations

from typing import Any

from annotate.models import AuditEvent, Project

ACTIONS = (
    "gold.create", "gold.update", "gold.delete",
    "codebook.change",
    "membership.create", "membership.update", "membership.delete",
    "assignment.reopen", "assignment.skip",
    "project.update",
    "article.repair",
    "gold.import",
    "model.train", "model.activate", "model.settings",
    "user.invite",
    "stories.settings", "story.rename", "story.merge", "story.split",
)


def audit_record(*, project: Project | int | None, by, action: str, obj: Any = None, object_type: str = "",
                 object_id: Any = "", before: Any = None, after: Any = None) -> AuditEvent:
    """Record one event. `obj` (a model instance) fills the object's type, id and name; `before`
    and `after` are JSON-ready snapshots (None where the object did not or no longer exists)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to annotate.services.audit.ACTIONS")
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or obj.pk
    actor = by if getattr(by, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        project_id=project.pk if isinstance(project, Project) else project,
        actor=actor,
        actor_name=actor.get_username() if actor else "",
        action=action,
        object_type=object_type,
        object_id="" if object_id is None else str(object_id),
        object_repr=str(obj)[:255] if obj is not None else "",
        before=before,
        after=after,
    )


def audit_record_many(*, project: Project | int | None, by, action: str, object_type: str,
                      items: list[tuple[Any, str, Any, Any]]) -> None:
    """Record one event per (object id, object name, before, after) in one insert: bulk writers
    (majority gold over a whole project) stay at a fixed number of queries per batch."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to annotate.services.audit.ACTIONS")
    actor = by if getattr(by, "is_authenticated", False) else None
    AuditEvent.objects.bulk_create([AuditEvent(
        project_id=project.pk if isinstance(project, Project) else project, actor=actor,
        actor_name=actor.get_username() if actor else "", action=action, object_type=object_type,
        object_id=str(object_id), object_repr=str(name)[:255], before=before, after=after,
    ) for object_id, name, before, after in items], batch_size=500)
