from django.db import connections
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from .models import FaceEntry, GalleryState, entries_changed
from .recognition import pgvector


@receiver(pre_save, sender=FaceEntry)
def embed_raw_saves(sender, instance, raw, **kwargs):
    """loaddata saves fixtures raw, around FaceEntry.save(): embed them here too."""
    if raw:
        instance.ensure_embedding()


@receiver(post_save, sender=FaceEntry)
def saved(sender, instance, using, **kwargs):
    """Keep face_vectors and the gallery state in step with the entry, inside the same transaction."""
    entries_changed([instance], using)


@receiver(post_delete, sender=FaceEntry)
def deleted(sender, instance, using, **kwargs):
    connection = connections[using]
    if pgvector.available(connection):
        pgvector.delete([instance.pk], connection)
    GalleryState.bump(using)
