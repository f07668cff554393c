from __future__ import annotations

import markdown
import nh3
from rest_framework import serializers

from annotate.models import Membership, Project

UNREVIEWED_CHOICES = [c for c, _ in Project._meta.get_field("unreviewed_suggestions").choices]


class TargetOut(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    position = serializers.IntegerField()
    aliases = serializers.SerializerMethodField(
        help_text="Other names of the target in text: the suggestion model reads the sentences that mention them")

    def get_aliases(self, target) -> list[str]:
        return list(target.aliases or [])


class TargetIn(serializers.Serializer):
    key = serializers.SlugField(max_length=100)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    position = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)
    aliases = serializers.ListField(child=serializers.CharField(max_length=200), required=False, max_length=50)


class ProjectOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    guidelines = serializers.CharField()
    guidelines_html = serializers.SerializerMethodField()
    label_schema = serializers.JSONField()
    codebook_version = serializers.SerializerMethodField()
    targets = TargetOut(many=True, source="targets.all")
    overlap = serializers.IntegerField()
    assignment_timeout_minutes = serializers.IntegerField()
    reopen_window_hours = serializers.IntegerField(
        source="reopen_window", help_text="Hours after submitting during which annotators may reopen their own "
                                          "submission; 0 = only reviewers may.")
    unreviewed_suggestions = serializers.ChoiceField(
        source="unreviewed_policy", choices=UNREVIEWED_CHOICES,
        help_text="Submitting with suggestions neither accepted nor rejected: ask once, block, or allow.")
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_codebook_version(self, project) -> int:
        return int(project.label_schema.get("version", 1))

    def get_guidelines_html(self, project) -> str:
        # Guidelines are written by project admins but shown to every annotator: sanitise.
        return nh3.clean(markdown.markdown(project.guidelines, extensions=["extra"]))


class ProjectListOut(ProjectOut):
    guidelines = None
    guidelines_html = None


class ProjectIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, max_length=100_000)
    # Well under DATA_UPLOAD_MAX_MEMORY_SIZE even at 4 bytes per character.
    # Not trimmed: Markdown's whitespace can matter, and an unchanged text must compare equal
    # (a Setup save that changes nothing records no project.update).
    guidelines = serializers.CharField(required=False, allow_blank=True, max_length=200_000, trim_whitespace=False)
    label_schema = serializers.DictField(required=False)
    overlap = serializers.IntegerField(required=False, min_value=1, max_value=100)
    # A week: longer leases would let a closed tab hold an article for good.
    assignment_timeout_minutes = serializers.IntegerField(required=False, min_value=1, max_value=7 * 24 * 60)
    # null: back to the default (24 h; ask).
    reopen_window_hours = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=24 * 365,
                                                   help_text="0 = only reviewers may reopen; null = the default, 24.")
    unreviewed_suggestions = serializers.ChoiceField(choices=UNREVIEWED_CHOICES, required=False, allow_null=True,
                                                     help_text="ask (default), block or allow; null = the default.")
    targets = TargetIn(many=True, required=False)


MAPPINGS_HELP = ("Per kind (stance_labels, frames, span_labels): {old label: new label or null}. A label that "
                 "leaves the schema while annotations, gold or suggestions use it must be mapped: to a label "
                 "of the new schema (rename, merge: every use is rewritten) or to null (its uses are dropped).")


class ProjectPatchIn(ProjectIn):
    targets = None
    label_schema = serializers.DictField(
        required=False, help_text="An RFC 7396 JSON merge patch of the current label schema: keys not given "
                                  "keep their value, lists replace. `version`, if given, must be the current "
                                  "codebook version (409 stale_codebook otherwise).")
    mappings = serializers.DictField(required=False, help_text=MAPPINGS_HELP)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class ProjectPutIn(ProjectIn):
    """A full replace: fields not given take their defaults (the label schema's missing keys too)."""

    targets = None
    label_schema = serializers.DictField(help_text="The whole label schema (missing keys take the defaults).")
    mappings = serializers.DictField(required=False, help_text=MAPPINGS_HELP)


class CodebookPreviewIn(serializers.Serializer):
    label_schema = serializers.DictField(help_text="As in PATCH (a merge patch) or, with replace, as in PUT.")
    mappings = serializers.DictField(required=False, help_text=MAPPINGS_HELP)
    replace = serializers.BooleanField(required=False, default=False)


class LabelUsesOut(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    to = serializers.CharField(required=False, allow_null=True)
    action = serializers.CharField(required=False, help_text="rename, merge, drop, or remove (unused)")
    uses = serializers.DictField(child=serializers.IntegerField(),
                                 help_text="annotations/gold (stance, frames) or annotation_spans/gold_spans/"
                                           "suggestions (span labels)")
    total = serializers.IntegerField()


class CodebookPreviewOut(serializers.Serializer):
    codebook_version = serializers.IntegerField()
    next_version = serializers.IntegerField()
    changed = serializers.BooleanField()
    ok = serializers.BooleanField(help_text="false when a removed label is in use and not mapped (see blocked)")
    added = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    removed = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    mappings = serializers.JSONField()
    migrate = LabelUsesOut(many=True)
    blocked = LabelUsesOut(many=True)
    label_schema = serializers.JSONField()


class MemberUserOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class MemberOut(serializers.Serializer):
    id = serializers.IntegerField()
    user = MemberUserOut()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    created_at = serializers.DateTimeField()


class MemberIn(serializers.Serializer):
    user = serializers.CharField(max_length=150, help_text="username")
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class MemberPatchIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices, required=False,
                                   help_text="The new role; leave out to change nothing.")
