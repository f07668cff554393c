"""Article.in_queue (active_assignments < the project's overlap), kept by the triggers of 0003 and
by one on Project.overlap, and the queue's partial index over the articles that have it."""

import importlib

from django.db import migrations, models

previous = importlib.import_module("annotate.migrations.0003_article_active_assignments")
ACTIVE = previous.ACTIVE

# One place that moves an article's count and recomputes its flag against its project's overlap.
POSTGRES = ["""
CREATE FUNCTION annotate_article_add_active(article bigint, delta integer) RETURNS void AS $$
    UPDATE annotate_article r
    SET active_assignments = r.active_assignments + delta, in_queue = r.active_assignments + delta < p.overlap
    FROM annotate_project p WHERE r.id = article AND p.id = r.project_id
$$ LANGUAGE sql""", f"""
CREATE OR REPLACE FUNCTION annotate_assignment_active_count() RETURNS trigger AS $$
DECLARE
    was_active integer := 0;
    is_active integer := 0;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN {ACTIVE} THEN was_active := 1; END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN {ACTIVE} THEN is_active := 1; END IF;
    IF TG_OP = 'UPDATE' AND OLD.article_id <> NEW.article_id THEN
        IF was_active = 1 THEN PERFORM annotate_article_add_active(OLD.article_id, -1); END IF;
        IF is_active = 1 THEN PERFORM annotate_article_add_active(NEW.article_id, 1); END IF;
    ELSIF is_active <> was_active THEN
        PERFORM annotate_article_add_active(
            CASE WHEN TG_OP = 'DELETE' THEN OLD.article_id ELSE NEW.article_id END, is_active - was_active);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql""", """
CREATE FUNCTION annotate_project_overlap_changed() RETURNS trigger AS $$
BEGIN
    UPDATE annotate_article SET in_queue = active_assignments < NEW.overlap
    WHERE project_id = NEW.id AND in_queue <> (active_assignments < NEW.overlap);
    RETURN NULL;
END
$$ LANGUAGE plpgsql""", """
CREATE TRIGGER annotate_project_overlap_changed
AFTER UPDATE OF overlap ON annotate_project
FOR EACH ROW WHEN (OLD.overlap IS DISTINCT FROM NEW.overlap)
EXECUTE FUNCTION annotate_project_overlap_changed()"""]
POSTGRES_DROP = ["DROP TRIGGER IF EXISTS annotate_project_overlap_changed ON annotate_project",
                 "DROP FUNCTION IF EXISTS annotate_project_overlap_changed()",
                 previous.POSTGRES[0].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1),
                 "DROP FUNCTION IF EXISTS annotate_article_add_active(bigint, integer)"]

_OVERLAP = "(SELECT p.overlap FROM annotate_project p WHERE p.id = annotate_article.project_id)"
SQLITE = [f"""
CREATE TRIGGER annotate_assignment_active_insert AFTER INSERT ON annotate_assignment
WHEN NEW.status IN {ACTIVE}
BEGIN
    UPDATE annotate_article SET active_assignments = active_assignments + 1,
        in_queue = active_assignments + 1 < {_OVERLAP}
    WHERE id = NEW.article_id;
END""", f"""
CREATE TRIGGER annotate_assignment_active_delete AFTER DELETE ON annotate_assignment
WHEN OLD.status IN {ACTIVE}
BEGIN
    UPDATE annotate_article SET active_assignments = active_assignments - 1,
        in_queue = active_assignments - 1 < {_OVERLAP}
    WHERE id = OLD.article_id;
END""", f"""
CREATE TRIGGER annotate_assignment_active_update AFTER UPDATE OF status, article_id ON annotate_assignment
WHEN OLD.status IS NOT NEW.status OR OLD.article_id IS NOT NEW.article_id
BEGIN
    UPDATE annotate_article SET active_assignments = active_assignments - 1,
        in_queue = active_assignments - 1 < {_OVERLAP}
    WHERE id = OLD.article_id AND OLD.status IN {ACTIVE};
    UPDATE annotate_article SET active_assignments = active_assignments + 1,
        in_queue = active_assignments + 1 < {_OVERLAP}
    WHERE id = NEW.article_id AND NEW.status IN {ACTIVE};
END""", """
CREATE TRIGGER annotate_project_overlap_changed AFTER UPDATE OF overlap ON annotate_project
WHEN OLD.overlap IS NOT NEW.overlap
BEGIN
    UPDATE annotate_article SET in_queue = active_assignments < NEW.overlap
    WHERE project_id = NEW.id AND in_queue <> (active_assignments < NEW.overlap);
END"""]
SQLITE_DROP = [*previous.SQLITE_DROP, "DROP TRIGGER IF EXISTS annotate_project_overlap_changed"]

BACKFILL = f"UPDATE annotate_article SET in_queue = active_assignments < {_OVERLAP}"


def sqlite_drop_0003_triggers(apps, schema_editor):
    """SQLite adds a column by rebuilding the table, and the rename at the end fails while
    triggers on other tables name it ("no such table: main.annotate_article")."""
    if schema_editor.connection.vendor == "sqlite":
        for sql in previous.SQLITE_DROP:
            schema_editor.execute(sql)


def sqlite_restore_0003_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in previous.SQLITE:
            schema_editor.execute(sql)


def create_triggers(apps, schema_editor):
    statements = POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE
    for sql in [BACKFILL, *statements]:
        schema_editor.execute(sql)


def drop_triggers(apps, schema_editor):
    for sql in POSTGRES_DROP if schema_editor.connection.vendor == "postgresql" else SQLITE_DROP:
        schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('annotate', '0003_article_active_assignments'),
    ]

    operations = [
        migrations.RunPython(sqlite_drop_0003_triggers, sqlite_restore_0003_triggers),
        migrations.AddField(
            model_name='article',
            name='in_queue',
            field=models.BooleanField(default=True, editable=False),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.AddIndex(
            model_name='article',
            index=models.Index(condition=models.Q(('in_queue', True)), fields=['project', '-priority', 'id'],
                               name='article_queue_open'),
        ),
    ]
