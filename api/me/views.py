from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from annotate.selectors.projects import projects_with_role
from api.base import ApiView


class MyProjectOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    role = serializers.CharField()


class MeOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    is_staff = serializers.BooleanField()
    is_superuser = serializers.BooleanField()
    projects = MyProjectOut(many=True)


class MeView(ApiView):
    @extend_schema(operation_id="me", responses=MeOut, summary="The caller and their projects with their role")
    def get(self, request):
        user = request.user
        projects = projects_with_role(user=user).prefetch_related(None).order_by("name", "id")
        return Response(MeOut({
            "id": user.pk, "username": user.get_username(),
            "display_name": user.get_full_name() or user.get_username(),
            "is_staff": user.is_staff, "is_superuser": user.is_superuser,
            "projects": [{"id": p.pk, "name": p.name, "slug": p.slug, "role": p.role} for p in projects],
        }).data)
