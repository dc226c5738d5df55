"""On PostgreSQL with pgvector installed: the face_vectors table and its HNSW index. Elsewhere: nothing."""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from entries.gallery import pgvector

        pgvector.create_schema(schema_editor.connection)  # filled by 0006, once facePhotos exists


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from entries.gallery import pgvector

        pgvector.drop_schema(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("entries", "0002_updated_at_index")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
