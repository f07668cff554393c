"""`manage.py create_token USER [--name NAME] [--rotate]`: issue a new API token and print its key.

Scripts then call the API with `Authorization: Token <key>`. Only the key's hash is stored, so the
key is printed this once; each run issues another token (listed, named, on the user's account page).
`--rotate` revokes the user's other tokens first (they stop working at once).
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from annotate.errors import ValidationFailed
from annotate.services.api_tokens import token_create, tokens_revoke_all


class Command(BaseCommand):
    help = "Issue an API token for USER and print its key (shown once; --rotate: revoke the others first)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="what the token is for (default: command line)")
        parser.add_argument("--rotate", action="store_true", help="revoke the user's existing tokens first")

    def handle(self, username, name="command line", rotate=False, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r} (create one with `manage.py createsuperuser` "
                               "or in the admin)")
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive: a token would not authenticate")
        if rotate:
            tokens_revoke_all(user=user)
        try:
            _, key = token_create(user=user, name=name)
        except ValidationFailed as e:
            raise CommandError(e.message) from e
        self.stdout.write(key)
