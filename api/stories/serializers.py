from __future__ import annotations

from rest_framework import serializers

from annotate.models import StorySettings


class StoryListItemOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    manual = serializers.BooleanField(help_text="Set or edited by a person; a recompute keeps it as it is.")
    key = serializers.CharField(allow_null=True, help_text="The import's `story` value, for stories set on import.")
    articles = serializers.IntegerField()
    outlets = serializers.IntegerField(help_text="Distinct sources (an article without a source counts as its own).")
    undated = serializers.IntegerField(help_text="Articles without a date, grouped by text alone.")
    first_published = serializers.DateTimeField(allow_null=True)


class StoryListOut(serializers.Serializer):
    count = serializers.IntegerField()
    results = StoryListItemOut(many=True)


class StoryArticleOut(serializers.Serializer):
    article_id = serializers.IntegerField()
    id = serializers.CharField(help_text="External id, else the database id.")
    title = serializers.CharField(allow_blank=True)
    source = serializers.CharField(allow_blank=True)
    outlet = serializers.CharField()
    published = serializers.DateTimeField(allow_null=True)
    undated = serializers.BooleanField()
    duplicate_of = serializers.IntegerField(allow_null=True, help_text="Article id of its duplicate group's first article.")
    similarity = serializers.FloatField(allow_null=True, help_text="Estimated Jaccard similarity to it.")


class StoryOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)
    manual = serializers.BooleanField()
    key = serializers.CharField(allow_null=True)
    articles = StoryArticleOut(many=True)


class StoryRenameIn(serializers.Serializer):
    name = serializers.CharField(max_length=300)


class StoryMergeIn(serializers.Serializer):
    stories = serializers.ListField(child=serializers.IntegerField(), min_length=2,
                                    help_text="Story ids; the first is kept, the others merged into it.")
    name = serializers.CharField(required=False, max_length=300)


class StorySplitIn(serializers.Serializer):
    articles = serializers.ListField(child=serializers.IntegerField(), min_length=1,
                                     help_text="Article ids of this story to move into a new story.")
    name = serializers.CharField(required=False, max_length=300)


class RecomputeOut(serializers.Serializer):
    queued = serializers.BooleanField()


class StorySettingsSerializer(serializers.Serializer):
    duplicate_threshold = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True,
                                                 help_text="Estimated Jaccard similarity from which a new article is a "
                                                           "near-duplicate (default 0.8; null = default).")
    duplicate_policy = serializers.ChoiceField(choices=StorySettings.DuplicatePolicy.values, required=False,
                                               allow_null=True, help_text="annotate_all (default) or one_per_group.")
    story_window_days = serializers.IntegerField(min_value=0, max_value=3650, required=False, allow_null=True,
                                                 help_text="Publication-date window of a story, ± days (default 7).")
    story_similarity = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True,
                                              help_text="TF-IDF cosine from which two articles are linked, and two stories "
                                                        "joined on average over their articles (default 0.15).")


class DuplicateMemberOut(serializers.Serializer):
    article_id = serializers.IntegerField()
    id = serializers.CharField()
    title = serializers.CharField(allow_blank=True)
    source = serializers.CharField(allow_blank=True)
    published = serializers.DateTimeField(allow_null=True)


class DuplicateOut(DuplicateMemberOut):
    similarity = serializers.FloatField(allow_null=True)
    held = serializers.BooleanField(help_text="Kept out of the annotation queue (one_per_group policy).")


class DuplicateGroupOut(serializers.Serializer):
    id = serializers.IntegerField(help_text="The representative's article id.")
    representative = DuplicateMemberOut()
    size = serializers.IntegerField()
    duplicates = DuplicateOut(many=True)


class QuoteOut(serializers.Serializer):
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    text = serializers.CharField()
    speaker = serializers.CharField(allow_null=True)
    speaker_canonical = serializers.CharField(required=False)
    kind = serializers.CharField(allow_null=True)


class CompareArticleOut(serializers.Serializer):
    article_id = serializers.IntegerField()
    id = serializers.CharField()
    title = serializers.CharField(allow_blank=True)
    outlet = serializers.CharField()
    published = serializers.DateTimeField(allow_null=True)
    undated = serializers.BooleanField()
    text = serializers.CharField()
    truncated = serializers.BooleanField()
    stance = serializers.DictField(child=serializers.CharField())
    frames = serializers.ListField(child=serializers.CharField())
    primary_frame = serializers.CharField(allow_null=True)
    labels_from = serializers.CharField(allow_null=True, help_text="adjudicated|unanimous|majority, null: no labels")
    quotes = QuoteOut(many=True)
    quotes_from = serializers.CharField(help_text="gold|majority|none, or suggestions when nobody annotated quotes")


class CompareOutletOut(serializers.Serializer):
    outlet = serializers.CharField()
    articles = serializers.ListField(child=serializers.IntegerField())
    stance = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()),
                                   help_text="{target key: {label: articles}}")
    frames = serializers.DictField(child=serializers.IntegerField())
    speakers = serializers.DictField(child=serializers.IntegerField(), help_text="{speaker: quotes}")


class CompareSpeakerOut(serializers.Serializer):
    speaker = serializers.CharField()
    outlets = serializers.DictField(child=serializers.IntegerField())
    aliases = serializers.ListField(child=serializers.CharField())
    outlet_count = serializers.IntegerField()


class SharedQuoteOccurrenceOut(serializers.Serializer):
    outlet = serializers.CharField()
    article_id = serializers.IntegerField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()


class SharedQuoteOut(serializers.Serializer):
    text = serializers.CharField()
    speaker = serializers.CharField(allow_null=True)
    outlets = serializers.ListField(child=serializers.CharField())
    occurrences = SharedQuoteOccurrenceOut(many=True)


class TargetRefOut(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()


class CompareOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)
    manual = serializers.BooleanField()
    targets = TargetRefOut(many=True)
    articles = CompareArticleOut(many=True)
    outlets = CompareOutletOut(many=True)
    speakers = CompareSpeakerOut(many=True)
    shared_quotes = SharedQuoteOut(many=True)


class StanceByOutletOutletOut(serializers.Serializer):
    outlet = serializers.CharField()
    stance = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()))


class StanceByOutletOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)
    articles = serializers.IntegerField()
    outlets = StanceByOutletOutletOut(many=True)
