from django.db import connections
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from . import pgvector
from .models import FaceEntry, GalleryState


@receiver(pre_save, sender=FaceEntry)
def embed_raw_saves(sender, instance, raw, **kwargs):
    """loaddata saves fixtures raw, around FaceEntry.save(): embed them here too."""
    if raw:
        instance.ensure_embedding()


@receiver(post_save, sender=FaceEntry)
def mirror_embedding_to_pgvector(sender, instance, using, **kwargs):
    """Keep face_vectors in step with the entry, inside the same transaction."""
    connection = connections[using]
    if pgvector.available(connection):
        pgvector.upsert(instance.pk, instance.embedding_model, instance.embedding, connection)
    GalleryState.bump(using)


@receiver(post_delete, sender=FaceEntry)
def drop_embedding_from_pgvector(sender, instance, using, **kwargs):
    connection = connections[using]
    if pgvector.available(connection):
        pgvector.delete([instance.pk], connection)
    GalleryState.bump(using)
