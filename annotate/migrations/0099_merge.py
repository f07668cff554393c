"""Joins the migrations that parallel branches added after 0005 (they touch different tables)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0006_gold_editable"),
        ("annotate", "0006_jobs_preannotation_heartbeat"),
        ("annotate", "0006_tokens_token_layer"),
    ]
    operations = []
