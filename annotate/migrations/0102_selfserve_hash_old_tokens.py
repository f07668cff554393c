"""DRF authtoken keys move into the hashed store (ApiToken) and their plaintext rows are deleted:
scripts keep their key, the database no longer holds it."""

import hashlib

from django.db import migrations


def hash_old_tokens(apps, schema_editor):
    Token = apps.get_model("authtoken", "Token")
    ApiToken = apps.get_model("annotate", "ApiToken")
    old = list(Token.objects.all())
    created = ApiToken.objects.bulk_create([
        ApiToken(user_id=t.user_id, name="token (from before named tokens)",
                 key_hash=hashlib.sha256(t.key.encode()).hexdigest(), prefix=t.key[:4])
        for t in old])
    # auto_now_add stamped "now": keep when each key was really issued.
    for token, row in zip(old, created):
        ApiToken.objects.filter(pk=row.pk).update(created_at=token.created)
    Token.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0101_selfserve_api_tokens"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    # Irreversible by nature: the plaintext keys are gone.
    operations = [migrations.RunPython(hash_old_tokens, migrations.RunPython.noop)]
