"""annotate.services.codebook: versioned, atomic label schema changes (issue 14 point 3)."""

from __future__ import annotations

import pytest

from annotate.errors import ValidationFailed
from annotate.label_schema import default_label_schema
from annotate.models import Annotation, AuditEvent, ExportJob, Gold, Span
from annotate.services.codebook import LabelInUse, StaleCodebook, codebook_change, codebook_plan, merge_patch
from annotate.services.exports import export_request
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

pytestmark = pytest.mark.django_db

STANCE = ["FAVOR", "OPPOSE", "NEUTRAL"]


@pytest.fixture
def world():
    schema = {**default_label_schema(), "stance_labels": STANCE, "span_labels": ["PERSON", "DATE", "TIME", "QUOTE"]}
    project = ProjectFactory(label_schema=schema)
    TargetFactory(project=project, key="troops")
    article = ArticleFactory(project=project)
    submitted = AnnotationFactory(
        assignment=AssignmentFactory(article=article, status="submitted"),
        stance={"troops": "OPPOSE"}, frames=["Economic", "Political"], primary_frame="Political", version=3)
    open_ = AnnotationFactory(assignment=AssignmentFactory(article=article, status="in_progress"),
                              stance={"troops": "FAVOR"}, version=2)
    gold = GoldFactory(article=article, stance={"troops": "OPPOSE"}, frames=["Political"], primary_frame="Political")
    SpanFactory(article=article, annotation=submitted, start=0, end=8, label="DATE", origin="human")
    SpanFactory(article=article, annotation=submitted, start=0, end=8, label="TIME", origin="human")
    SpanFactory(article=article, gold=gold, start=0, end=8, label="DATE", origin="human")
    SpanFactory(article=article, start=0, end=8, label="DATE", origin="model")
    return {"project": project, "submitted": submitted, "open": open_, "gold": gold,
            "admin": UserFactory(username="cb-admin")}


def schema_with(project, **changes):
    return {**project.label_schema, **changes}


def test_rename_rewrites_annotations_gold_and_bumps_versions(world):
    project, admin = world["project"], world["admin"]
    plan = codebook_change(project=project, by=admin,
                           schema=schema_with(project, stance_labels=["FAVOR", "AGAINST", "NEUTRAL"]),
                           mappings={"stance_labels": {"OPPOSE": "AGAINST"}})
    project.refresh_from_db()
    assert project.label_schema["version"] == 2 and plan.next_version == 2
    assert project.label_schema["stance_labels"] == ["FAVOR", "AGAINST", "NEUTRAL"]
    submitted, open_ = (Annotation.objects.get(pk=world[k].pk) for k in ("submitted", "open"))
    assert submitted.stance == {"troops": "AGAINST"}
    assert Gold.objects.get(pk=world["gold"].pk).stance == {"troops": "AGAINST"}
    # The rewritten annotation and every open one: an autosave based on the old version is stale.
    assert submitted.version == 4 and open_.version == 3
    event = AuditEvent.objects.get(action="codebook.change")
    assert event.actor == admin and event.before["label_schema"]["stance_labels"] == STANCE
    assert event.after["mappings"] == {"stance_labels": {"OPPOSE": "AGAINST"}}
    assert event.after["migrated"][0]["uses"] == {"annotations": 1, "gold": 1}
    # The next export records the new codebook version.
    assert export_request(project=project, format="jsonl", enqueue=False).codebook_version == 2


def test_removing_a_used_label_without_mapping_is_refused_and_changes_nothing(world):
    project = world["project"]
    before = (list(Annotation.objects.values_list("stance", "version")), list(Span.objects.values_list("label")))
    with pytest.raises(LabelInUse) as info:
        codebook_change(project=project, by=world["admin"], schema=schema_with(project, stance_labels=["FAVOR", "NEUTRAL"]))
    assert "'OPPOSE' is in use (2: 1 annotations, 1 gold)" in info.value.message
    assert "mappings.stance_labels.OPPOSE" in info.value.message
    project.refresh_from_db()
    assert project.label_schema["version"] == 1 and "OPPOSE" in project.label_schema["stance_labels"]
    assert (list(Annotation.objects.values_list("stance", "version")), list(Span.objects.values_list("label"))) == before
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(("mappings", "field", "message"), [
    ({"stance_labels": {"OPPOSE": "AGAINST"}}, "mappings.stance_labels.OPPOSE", "'AGAINST' is not a label of the new"),
    ({"stance_labels": {"FAVOR": "NEUTRAL"}}, "mappings.stance_labels.FAVOR", "'FAVOR' stays in stance_labels"),
    ({"stance_labels": {"PRO": "FAVOR"}}, "mappings.stance_labels.PRO", "'PRO' is not a label of the current"),
    ({"colours": {}}, "mappings.colours", "unknown kind"),
])
def test_bad_mappings_name_the_field_and_migrate_nothing(world, mappings, field, message):
    project = world["project"]
    spans = Span.objects.count()
    with pytest.raises(ValidationFailed) as info:
        codebook_change(project=project, by=world["admin"],
                        schema=schema_with(project, stance_labels=["FAVOR", "NEUTRAL"]), mappings=mappings)
    assert field in info.value.details and message in info.value.details[field][0]
    assert Annotation.objects.get(pk=world["submitted"].pk).stance == {"troops": "OPPOSE"}
    assert Span.objects.count() == spans and not AuditEvent.objects.exists()


def test_rename_to_an_existing_label_is_a_duplicate(world):
    project = world["project"]
    with pytest.raises(ValidationFailed) as info:
        codebook_change(project=project, by=world["admin"],
                        schema=schema_with(project, stance_labels=["FAVOR", "FAVOR", "NEUTRAL"]),
                        mappings={"stance_labels": {"OPPOSE": "FAVOR"}})
    assert info.value.details["label_schema.stance_labels[1]"] == ["duplicate 'FAVOR'"]
    assert Annotation.objects.get(pk=world["submitted"].pk).stance == {"troops": "OPPOSE"}


def test_merge_span_labels_relabels_everything_and_merges_twins(world):
    project = world["project"]
    schema = schema_with(project, span_labels=["PERSON", "TIME", "QUOTE"])
    plan = codebook_plan(project=project, schema=schema, mappings={"span_labels": {"DATE": "TIME"}})
    assert plan.migrate == [{"kind": "span_labels", "label": "DATE", "to": "TIME", "action": "merge",
                             "uses": {"annotation_spans": 1, "gold_spans": 1, "suggestions": 1}, "total": 3}]
    codebook_change(project=project, by=world["admin"], schema=schema, mappings=plan.mappings)
    assert not Span.objects.filter(label="DATE").exists()
    # The annotation had DATE and TIME on the same text: one TIME span remains (unique per annotation).
    assert list(Span.objects.filter(annotation=world["submitted"]).values_list("label", flat=True)) == ["TIME"]
    assert Span.objects.filter(gold=world["gold"], label="TIME").count() == 1
    assert Span.objects.filter(annotation=None, gold=None, label="TIME").count() == 1


def test_frames_mapped_to_null_are_dropped_and_primary_cleared(world):
    project = world["project"]
    frames = [f for f in project.label_schema["frames"] if f != "Political"]
    codebook_change(project=project, by=world["admin"], schema=schema_with(project, frames=frames),
                    mappings={"frames": {"Political": None}})
    submitted = Annotation.objects.get(pk=world["submitted"].pk)
    assert (submitted.frames, submitted.primary_frame) == (["Economic"], "")
    gold = Gold.objects.get(pk=world["gold"].pk)
    assert (gold.frames, gold.primary_frame) == ([], "")


def test_adding_a_label_is_free_and_an_unchanged_schema_is_no_change(world):
    project = world["project"]
    codebook_change(project=project, by=world["admin"], schema=schema_with(project, stance_labels=[*STANCE, "MIXED"]))
    project.refresh_from_db()
    assert project.label_schema["version"] == 2
    assert Annotation.objects.get(pk=world["open"].pk).version == 2  # nothing taken away: no reload needed
    plan = codebook_change(project=project, by=world["admin"], schema=dict(project.label_schema))
    assert not plan.changed and AuditEvent.objects.count() == 1


def test_a_change_based_on_an_old_codebook_version_is_stale(world):
    project = world["project"]
    codebook_change(project=project, by=world["admin"], schema=schema_with(project, stance_labels=[*STANCE, "X"]))
    project.refresh_from_db()
    with pytest.raises(StaleCodebook):
        codebook_change(project=project, by=world["admin"],
                        schema={**project.label_schema, "version": 1, "stance_labels": STANCE})


def test_merge_patch_follows_rfc_7396():
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}
    assert merge_patch(target, {"a": "z", "c": {"f": None}, "l": [3]}) == {"a": "z", "c": {"d": "e"}, "l": [3]}
    assert target["c"] == {"d": "e", "f": "g"}  # not changed in place


def test_exports_record_the_current_codebook_version(world):
    project = world["project"]
    codebook_change(project=project, by=world["admin"], schema=schema_with(project, stance_labels=[*STANCE, "X"]))
    codebook_change(project=project, by=world["admin"], schema=schema_with(project, stance_labels=[*STANCE, "Y"]),
                    mappings={"stance_labels": {}})
    project.refresh_from_db()
    assert project.label_schema["version"] == 3
    assert export_request(project=project, format="jsonl", enqueue=False).codebook_version == 3
    assert ExportJob.objects.count() == 1


def test_a_span_label_only_suggestions_use_may_go_and_they_stay_stored(world):
    project = world["project"]
    Span.objects.filter(label="DATE").exclude(annotation=None, gold=None).delete()
    codebook_change(project=project, by=world["admin"], schema=schema_with(project, span_labels=["PERSON", "TIME"]))
    assert Span.objects.filter(label="DATE", annotation=None, gold=None).count() == 1


def test_dropping_a_span_label_deletes_people_s_spans_and_keeps_suggestions(world):
    project = world["project"]
    codebook_change(project=project, by=world["admin"], schema=schema_with(project, span_labels=["PERSON", "TIME"]),
                    mappings={"span_labels": {"DATE": None, "QUOTE": None}})
    assert list(Span.objects.filter(label="DATE").values_list("annotation", "gold")) == [(None, None)]
