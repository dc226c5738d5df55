from django.db import connections
from django.db.models.signals import post_delete, post_migrate, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from .models import FaceEntry, FacePhoto, GalleryState, entries_changed
from .recognition import pgvector


@receiver(pre_save, sender=FaceEntry)
@receiver(pre_save, sender=FacePhoto)
def embed_raw_saves(sender, instance, raw, **kwargs):
    """loaddata saves fixtures raw, around save(): embed them here too."""
    if raw:
        instance.ensure_embedding()


@receiver(post_save, sender=FaceEntry)
@receiver(post_save, sender=FacePhoto)
def saved(sender, instance, using, update_fields=None, **kwargs):
    """Keep face_vectors and the gallery state in step with the photo, inside the same transaction.

    A save of some fields only mirrors the embedding if it is one of them: otherwise the instance's
    embedding may be older than the stored one.
    """
    if sender is FacePhoto:  # search indexes notice an entry's changes by its updated_at
        FaceEntry.objects.using(using).filter(pk=instance.entry_id).update(updated_at=timezone.now())
    entries_changed([instance] if update_fields is None or "embedding" in update_fields else [], using)


@receiver(post_delete, sender=FaceEntry)
@receiver(post_delete, sender=FacePhoto)
def deleted(sender, instance, using, **kwargs):
    connection = connections[using]
    if pgvector.available(connection):
        if sender is FacePhoto:
            pgvector.delete_photo(instance, connection)
        else:
            pgvector.delete([instance.pk], connection)
    GalleryState.bump(using)


@receiver(post_migrate)
def drop_orphaned_vectors(sender, using, **kwargs):
    """`manage.py flush` (and tests that flush) empty faceEntries but not face_vectors: drop what it left."""
    connection = connections[using]
    if sender.name == "entries" and pgvector.available(connection):
        pgvector.drop_orphans(connection)
