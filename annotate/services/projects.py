"""Project and target writes. The label schema is always stored validated and normalised."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from annotate.errors import Conflict, PermissionDeniedError, ValidationFailed
from annotate.models import Membership, Project, Target
from annotate.services.audit import audit_record
from annotate.services.codebook import codebook_change, merge_patch, schema_validated

PROJECT_FIELDS = ("name", "slug", "description", "guidelines", "label_schema", "overlap", "assignment_timeout_minutes",
                  "reopen_window_hours", "unreviewed_suggestions")
TARGET_FIELDS = ("key", "name", "description", "position")


def project_create(*, by, name: str, slug: str, targets: list[dict] | None = None, **fields) -> Project:
    """Create a project; only staff users may, and the creator becomes its admin."""
    if not (by.is_staff or by.is_superuser):
        raise PermissionDeniedError("Only staff users may create projects.")
    if "label_schema" in fields:
        fields["label_schema"] = schema_validated(fields["label_schema"])
    with transaction.atomic():
        if Project.objects.filter(slug=slug).exists():
            raise Conflict(f"slug: a project with slug {slug!r} already exists",
                           details={"slug": ["already exists"]})
        project = Project.objects.create(name=name, slug=slug, **fields)
        Membership.objects.create(project=project, user=by, role=Membership.Role.ADMIN)
        for position, target in enumerate(targets or []):
            target_create(project=project, **{"position": position, **target})
    return project


def project_update(*, project: Project, by=None, mappings=None, replace: bool = False, **fields) -> Project:
    """Change a project's settings. `label_schema` is an RFC 7396 merge patch of the current
    schema (`replace=True`: the whole new schema, missing keys take the defaults) and goes
    through annotate.services.codebook.codebook_change with `mappings`, in the same transaction
    as the other fields: a refused codebook change leaves the project unchanged."""
    unknown = sorted(set(fields) - set(PROJECT_FIELDS))
    if unknown:
        raise ValidationFailed(f"{unknown[0]}: cannot be changed", details={k: ["cannot be changed"] for k in unknown})
    if mappings is not None and "label_schema" not in fields:
        raise ValidationFailed("mappings: only with a change of label_schema",
                               details={"mappings": ["only with a change of label_schema"]})
    if "slug" in fields and Project.objects.filter(slug=fields["slug"]).exclude(pk=project.pk).exists():
        raise Conflict(f"slug: a project with slug {fields['slug']!r} already exists",
                       details={"slug": ["already exists"]})
    with transaction.atomic():
        if "label_schema" in fields:
            schema = fields.pop("label_schema")
            if not replace:
                schema = merge_patch(project.label_schema, schema)
            plan = codebook_change(project=project, by=by, schema=schema, mappings=mappings)
            project.label_schema = plan.schema
        changed = {k: v for k, v in fields.items() if getattr(project, k) != v}
        if changed:
            before = {k: getattr(project, k) for k in changed}
            for key, value in changed.items():
                setattr(project, key, value)
            project.save(update_fields=[*changed, "updated_at"])
            audit_record(project=project, by=by, action="project.update", obj=project, before=before, after=changed)
    return project


def project_delete(*, project: Project) -> None:
    project.delete()


def target_create(*, project: Project, key: str, name: str, description: str = "", position: int | None = None,
                  aliases: list[str] | None = None) -> Target:
    if position is None:
        last = Target.objects.filter(project=project).order_by("-position").values_list("position", flat=True).first()
        position = 0 if last is None else last + 1
    try:
        with transaction.atomic():
            return Target.objects.create(project=project, key=key, name=name, description=description,
                                         position=position, aliases=aliases or None)
    except IntegrityError:
        raise Conflict(f"key: target {key!r} already exists in this project",
                       details={"key": ["already exists in this project"]}) from None


def target_update(*, target: Target, **fields) -> Target:
    """Renaming a target key would orphan stances stored under the old key, so keys are fixed
    once any annotation exists in the project."""
    if "key" in fields and fields["key"] != target.key:
        from annotate.models import Annotation

        if Annotation.objects.filter(assignment__project_id=target.project_id, stance__has_key=target.key).exists():
            raise Conflict("key: annotations already use this key; it cannot change",
                           details={"key": ["in use by annotations"]})
    for key, value in fields.items():
        setattr(target, key, value)
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise Conflict(f"key: target {target.key!r} already exists in this project",
                       details={"key": ["already exists in this project"]}) from None
    return target


def target_delete(*, target: Target) -> None:
    target.delete()
