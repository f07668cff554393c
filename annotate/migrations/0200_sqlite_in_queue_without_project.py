"""SQLite: the in_queue triggers of 0004 read the project's overlap with a subquery, which is NULL
once the project row is gone; deleting assignments after their project (a flush, or a cascade
in the order SQLite picks) then wrote NULL into the NOT NULL in_queue and failed the delete.
An article whose project is gone is simply not in the queue. PostgreSQL's triggers read the
overlap through a join and never see this."""

import importlib

from django.db import migrations

_0004 = importlib.import_module("annotate.migrations.0004_article_in_queue")
GUARDED = [sql.replace(f"< {_0004._OVERLAP}", f"< COALESCE({_0004._OVERLAP}, 0)") for sql in _0004.SQLITE]


def _replace(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        for sql in _0004.SQLITE_DROP:
            schema_editor.execute(sql)
        for sql in statements:
            schema_editor.execute(sql)
    return run


class Migration(migrations.Migration):
    dependencies = [("annotate", "0199_merge")]
    operations = [migrations.RunPython(_replace(GUARDED), _replace(_0004.SQLITE))]
