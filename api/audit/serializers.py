from __future__ import annotations

from rest_framework import serializers


class AuditEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    actor = serializers.SerializerMethodField(help_text="{id, username}; id is null once the user is deleted")
    action = serializers.CharField(help_text="gold.create, codebook.change, membership.delete, …")
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    object_repr = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)

    def get_actor(self, event) -> dict:
        return {"id": event.actor_id, "username": event.actor_name}
