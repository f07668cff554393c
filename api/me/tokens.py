"""The caller's API tokens: list, create (the key is in the 201 answer only), revoke.
Site admins (staff) may list anyone's with `?user=<username>` and revoke any token by id."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from annotate.models import ApiToken
from annotate.services.api_tokens import token_create, token_revoke
from api.base import ApiView


class TokenOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The key's first characters, to tell tokens apart.")
    user = serializers.CharField(source="user.username", help_text="Whose token it is.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="To the minute; null: never used.")


class TokenCreatedOut(TokenOut):
    key = serializers.CharField(help_text="The key, for `Authorization: Token <key>`. Shown this once only.")


class TokenCreateIn(serializers.Serializer):
    # A blank name is refused by the service (the same message for REST and the CLI).
    name = serializers.CharField(max_length=ApiToken.NAME_MAX_LENGTH, allow_blank=True,
                                 help_text="What will use the token, e.g. 'nightly export'.")


def _is_site_admin(user) -> bool:
    return bool(user.is_staff or user.is_superuser)


class MyTokensView(ApiView):
    who = "any signed-in user, for their own tokens (site admins: anyone's, with `?user=`)."

    @extend_schema(operation_id="me_tokens_list", responses=TokenOut(many=True),
                   parameters=[OpenApiParameter("user", str, description="Site admins: another user's tokens "
                                                "(username). Others get 403.")],
                   summary="My API tokens, newest first (name, created, last used; never the key)")
    def get(self, request):
        owner = request.user
        username = request.query_params.get("user")
        if username not in (None, "", owner.get_username()):
            if not _is_site_admin(owner):
                raise PermissionDenied("Only site admins may list other users' tokens.")
            owner = get_user_model().objects.filter(username=username).first()
            if owner is None:
                raise NotFound(f"No user named {username!r}.")
        tokens = ApiToken.objects.filter(user=owner).select_related("user").order_by("-id")
        return Response(TokenOut(tokens, many=True).data)

    @extend_schema(operation_id="me_tokens_create", request=TokenCreateIn,
                   responses={201: TokenCreatedOut, 400: OpenApiResponse(description="`name` empty or too long")},
                   summary="Create a named API token; the answer holds the key, the only time it is shown")
    def post(self, request):
        data = TokenCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = token_create(user=request.user, name=data.validated_data["name"])
        token.user = request.user
        out = TokenCreatedOut({**TokenOut(token).data, "key": key, "user": request.user}).data
        return Response(out, status=status.HTTP_201_CREATED)


class MyTokenView(ApiView):
    who = "the token's owner, or a site admin (is_staff); anyone else gets 404."

    @extend_schema(operation_id="me_tokens_revoke", request=None,
                   responses={204: None, 404: OpenApiResponse(description="not yours (and you are not a site admin)")},
                   summary="Revoke a token: its next request answers 401")
    def delete(self, request, pk: int):
        tokens = ApiToken.objects.all() if _is_site_admin(request.user) else ApiToken.objects.filter(user=request.user)
        token = tokens.filter(pk=pk).first()
        if token is None:
            raise NotFound("No such token.")
        token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
