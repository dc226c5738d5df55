"""MongoDB has no check constraints: the collections' validators enforce the same rule.

A photo is stored only with the embedding computed from it (embedding_sha256 == image_sha256),
whatever code writes it; a write that breaks it fails with IntegrityError (facerec.mongodb).
"""

from django.db import migrations

MATCHING_EMBEDDING = {"$expr": {"$eq": ["$embedding_sha256", "$image_sha256"]}}
COLLECTIONS = ("faceEntries", "facePhotos")


def add_validators(apps, schema_editor):
    database = schema_editor.connection.database
    for collection in COLLECTIONS:
        database.command("collMod", collection, validator=MATCHING_EMBEDDING,
                         validationLevel="strict", validationAction="error")


def remove_validators(apps, schema_editor):
    database = schema_editor.connection.database
    for collection in COLLECTIONS:
        database.command("collMod", collection, validator={}, validationLevel="off")


class Migration(migrations.Migration):
    dependencies = [("entries", "0001_initial")]
    operations = [migrations.RunPython(add_validators, remove_validators)]
