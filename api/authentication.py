"""Token authentication in one prepared statement (annotate.hotsql): every scripted request
pays for it, and DRF's ORM lookup (select_related user) cost ~0.5 ms of CPU on its own."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from annotate.hotsql import Columns, fetch_one

_T = Columns(Token, "t")
_U = Columns(get_user_model(), "u")


class FastTokenAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication (`Authorization: Token <key>`, same errors), looked up with
    one hand-written statement instead of the ORM."""

    def authenticate_credentials(self, key):
        row = fetch_one(
            f'SELECT {_T.sql}, {_U.sql} FROM {Token._meta.db_table} t '
            f'INNER JOIN {_U.model._meta.db_table} u ON u."id" = t."user_id" WHERE t."key" = %s', [key])
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token, user = _T.load(row), _U.load(row, _T.width)
        token.user = user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, token
