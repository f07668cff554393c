"""`manage.py create_token USER`: print the API token of a user (created if missing).

Scripts then call the API with `Authorization: Token <key>`. `--rotate` replaces an existing
token (the old one stops working at once).
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Print the API token of USER, creating it if needed (--rotate: replace it)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--rotate", action="store_true", help="delete the existing token and issue a new one")

    def handle(self, username, rotate=False, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r} (create one with `manage.py createsuperuser` "
                               "or in the admin)")
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive: a token would not authenticate")
        if rotate:
            Token.objects.filter(user=user).delete()
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
