from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from ...gallery import pgvector


class Command(BaseCommand):
    help = (
        "On PostgreSQL: create the pgvector table and each face model's HNSW index if missing (e.g. pgvector was "
        "installed after migrating, or a model added to FACEREC_FACE_MODELS) and copy every embedding into it, "
        "dropping rows of vanished entries."
    )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("pgvector needs PostgreSQL; this database is " + connection.vendor)
        if not pgvector.create_schema(connection):
            raise CommandError("the pgvector extension is not installed on the PostgreSQL server "
                               "(scripts/install-pgvector.sh installs it)")
        self.stdout.write(f"face_vectors holds {pgvector.backfill(connection)} embeddings.")
