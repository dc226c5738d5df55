"""face_vectors holds every photo of an entry (photo_id 0 is the main one) and indexes MobileFaceNet too."""

from django.db import migrations


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    from entries.gallery import pgvector

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [pgvector.TABLE])
        if not cursor.fetchone()[0]:
            return
        cursor.execute(f"ALTER TABLE {pgvector.TABLE} ADD COLUMN IF NOT EXISTS photo_id bigint NOT NULL DEFAULT 0")
        cursor.execute(f"ALTER TABLE {pgvector.TABLE} DROP CONSTRAINT IF EXISTS {pgvector.TABLE}_pkey")
        cursor.execute(f"ALTER TABLE {pgvector.TABLE} ADD PRIMARY KEY (entry_id, photo_id)")
    pgvector.create_schema(connection)  # indexes of newly supported models
    pgvector.backfill(connection)


class Migration(migrations.Migration):
    dependencies = [("entries", "0005_photos")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
