from django.db.models.signals import pre_save
from django.dispatch import receiver

from .models import FaceEntry, FacePhoto


@receiver(pre_save, sender=FaceEntry)
@receiver(pre_save, sender=FacePhoto)
def embed_raw_saves(sender, instance, raw, **kwargs):
    """loaddata saves fixtures raw, around save(): embed them here too."""
    if raw:
        instance.ensure_embedding()
