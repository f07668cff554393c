"""Invite a new user into a project (reviewers: annotators and exporters; admins: any role)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from annotate.models import Membership
from annotate.selectors.membership import project_role
from annotate.services.invitations import invite_expires_at, user_invite
from api.base import ApiView, ProjectScopedMixin
from api.permissions import IsProjectReviewer


class InviteIn(serializers.Serializer):
    username = serializers.CharField(allow_blank=True, help_text="The new user's login name.")
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.ANNOTATOR)
    email = serializers.CharField(required=False, allow_blank=True, default="",
                                  help_text="Optional; kept on the account (no mail is sent).")


class InvitedUserOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class InviteOut(serializers.Serializer):
    user = InvitedUserOut()
    role = serializers.CharField()
    invite_url = serializers.CharField(help_text="One-time link to set a password; give it to the person.")
    expires_at = serializers.DateTimeField()


class InvitationsView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectReviewer]

    @extend_schema(operation_id="project_invite", request=InviteIn,
                   responses={201: InviteOut, 400: OpenApiResponse(description="`username`, `email` or `role` "
                                                                   "invalid, or the user exists already"),
                              403: OpenApiResponse(description="a reviewer inviting an admin or reviewer")},
                   summary="Create a user in this project and return a one-time link to set their password")
    def post(self, request, project_id: int):
        data = InviteIn(data=request.data)
        data.is_valid(raise_exception=True)
        role = project_role(user=request.user, project=project_id)  # superusers: admin
        user, path = user_invite(project=self.project, inviter_role=role, by=request.user, **data.validated_data)
        return Response(InviteOut({
            "user": user, "role": data.validated_data["role"], "invite_url": request.build_absolute_uri(path),
            "expires_at": invite_expires_at(),
        }).data, status=status.HTTP_201_CREATED)
