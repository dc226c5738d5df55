"""Keep face_vectors and the gallery state in step with every write of a photo, in its transaction."""

from django.db import connections
from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver
from django.utils import timezone

from ..models import FaceEntry, FacePhoto, GalleryState, written_in_bulk
from . import pgvector


def changed(photos, using: str) -> None:
    """Mirror these photos' new embeddings (entries' main photos or extra photos), then renew the state."""
    _mirror(photos, using)
    GalleryState.bump(using)


def _mirror(photos, using: str) -> None:
    pgvector.mirror([p for p in photos if p.pk is not None], connections[using])


@receiver(post_save, sender=FaceEntry)
@receiver(post_save, sender=FacePhoto)
def saved(sender, instance, using, update_fields=None, **kwargs):
    """A save of some fields only mirrors the embedding if it is one of them: otherwise the instance's
    embedding may be older than the stored one."""
    photos = [instance] if update_fields is None or "embedding" in update_fields else []
    if sender is FacePhoto:
        # Indexes re-read an entry's photos by the entry's updated_at. That update renews the state
        # (written_in_bulk), so the photo is only mirrored here: one write, one new token.
        FaceEntry.objects.using(using).filter(pk=instance.entry_id).update(updated_at=timezone.now())
        _mirror(photos, using)
    else:
        changed(photos, using)


@receiver(written_in_bulk, sender=FaceEntry)
def written(sender, photos, using, **kwargs):
    changed(photos, using)


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
