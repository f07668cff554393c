"""Joins the migrations that parallel branches added after 0099 (they touch different tables)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0102_annotator_project_settings"),
        ("annotate", "0102_selfserve_hash_old_tokens"),
        ("annotate", "0103_model_in_the_loop"),
        ("annotate", "0104_stories_duplicates"),
    ]
    operations = []
