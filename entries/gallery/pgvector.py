"""PostgreSQL + pgvector: the face_vectors table, its HNSW index and nearest-neighbour queries.

face_vectors mirrors the normalised embedding of every photo (faceEntries and facePhotos stay
the source of truth): photo_id 0 is an entry's main photo, others are facePhotos ids.
Rows are written and deleted in the same transaction as their entry (entries.gallery.receivers).
There is deliberately no foreign key: `manage.py flush` truncates only Django's tables, so the
post_migrate signal it sends drops the vectors it orphaned (they are biometric data too). Searches
join faceEntries, so a row left behind by raw SQL is never returned; `backfill` removes it.
"""

from __future__ import annotations

import logging

import numpy as np
from django.db import connection as default_connection

from ..models import FaceEntry, FacePhoto
from ..recognition import registry, vectors

log = logging.getLogger(__name__)
TABLE = "face_vectors"
_available: dict[str, bool] = {}
EF_SEARCH = 120  # recall@1 0.993 at 1M MobileFaceNet-like vectors, p50 14 ms (docs/benchmarks.md, bench/search.py)


def literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(vector, dtype=np.float32)) + "]"


def available(connection=default_connection) -> bool:
    """Whether this database is PostgreSQL with the face_vectors table (checked once per process)."""
    if connection.vendor != "postgresql":
        return False
    key = f"{connection.alias}:{connection.settings_dict['NAME']}"
    if not _available.get(key):
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [TABLE])
            _available[key] = cursor.fetchone()[0]
    return _available[key]


def extension_installable(cursor) -> bool:
    cursor.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
    return cursor.fetchone()[0] > 0


def create_schema(connection) -> bool:
    """Create the extension, table and indexes when pgvector is installed on the server.

    One partial HNSW index per registered model, at its dimension (entries.recognition.registry); after
    adding a model, `manage.py pgvector_sync` creates its index.
    """
    with connection.cursor() as cursor:
        if not extension_installable(cursor):
            log.warning("pgvector is not installed on this PostgreSQL server; using exact in-process search.")
            return False
        cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
        cursor.execute(
            f"""CREATE TABLE IF NOT EXISTS {TABLE} (
                entry_id bigint NOT NULL,
                photo_id bigint NOT NULL DEFAULT 0,
                model varchar(64) NOT NULL,
                embedding vector NOT NULL,
                PRIMARY KEY (entry_id, photo_id))"""
        )
        for model, dimension in registry.dimensions().items():
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {TABLE}_{model.lower()}_hnsw ON {TABLE} "
                f"USING hnsw ((embedding::vector({dimension})) vector_cosine_ops) WHERE model = %s",
                [model],
            )
    _available.clear()
    return True


def drop_schema(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
    _available.clear()


def _key(photo) -> tuple[int, int]:
    """(entry_id, photo_id) of an entry's main photo or of an extra photo."""
    return (photo.entry_id, photo.pk) if hasattr(photo, "entry_id") else (photo.pk, 0)


def mirror(photos, connection=default_connection) -> None:
    """Write these photos' embeddings (entries or extra photos) to face_vectors, when this database has it."""
    if available(connection):
        for photo in photos:
            upsert(*_key(photo), photo.embedding_model, photo.embedding, connection)


def upsert(entry_id: int, photo_id: int, model: str, embedding: bytes | memoryview,
           connection=default_connection) -> None:
    vector = vectors.normalise(vectors.from_bytes(embedding))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (entry_id, photo_id, model, embedding) VALUES (%s, %s, %s, %s::vector) "
            "ON CONFLICT (entry_id, photo_id) DO UPDATE SET model = EXCLUDED.model, embedding = EXCLUDED.embedding",
            [entry_id, photo_id, model, literal(vector)],
        )


def delete(entry_ids, connection=default_connection) -> None:
    """Remove every photo of these entries."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE entry_id = ANY(%s)", [list(entry_ids)])


def delete_photo(photo, connection=default_connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE entry_id = %s AND photo_id = %s", list(_key(photo)))


def backfill(connection=default_connection, batch: int = 1000) -> int:
    """Copy every photo's embedding into face_vectors and drop rows of vanished entries or photos."""
    drop_orphans(connection)
    count = 0
    for pk, model, embedding in FaceEntry.objects.values_list("id", "embedding_model", "embedding").iterator(
            chunk_size=batch):
        upsert(pk, 0, model, embedding, connection)
        count += 1
    for pk, entry_id, model, embedding in FacePhoto.objects.values_list(
            "id", "entry_id", "embedding_model", "embedding").iterator(chunk_size=batch):
        upsert(entry_id, pk, model, embedding, connection)
        count += 1
    return count


def drop_orphans(connection=default_connection) -> int:
    """Delete the vectors of entries or photos that no longer exist (e.g. after `manage.py flush`)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'''DELETE FROM {TABLE} v WHERE NOT EXISTS (SELECT 1 FROM "faceEntries" e WHERE e.id = v.entry_id)
               OR (v.photo_id <> 0 AND NOT EXISTS (SELECT 1 FROM "facePhotos" p WHERE p.id = v.photo_id))'''
        )
        return cursor.rowcount


def nearest(vector: np.ndarray, model: str, dimension: int, k: int, department: str | None,
            exclude_id: int | None, connection=default_connection):
    """Return (id, code, name, department, similarity) rows, most similar first, one per entry (its best photo)."""
    filters: list[str] = ["v.model = %s"]
    params: list[object] = [model]
    if department is not None:
        filters.append("e.department = %s")
        params.append(department)
    if exclude_id is not None:
        filters.append("e.id <> %s")
        params.append(exclude_id)
    query, limit = literal(vector), 4 * k + 8  # room for several photos of the same people
    distance = f"v.embedding::vector({dimension}) <=> %s::vector({dimension})"
    sql = f"""SELECT e.id, e.employee_code, e.name, e.department, 1 - ({distance}) AS similarity
              FROM {TABLE} v JOIN "faceEntries" e ON e.id = v.entry_id
              WHERE {' AND '.join(filters)} ORDER BY {{order}} LIMIT %s"""
    with connection.cursor() as cursor:
        # Filtered HNSW scans keep searching until k rows pass the filter (pgvector >= 0.8);
        # a wider candidate list than the default 40 buys recall for a fraction of a millisecond.
        cursor.execute("SET hnsw.iterative_scan = relaxed_order")
        cursor.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
        cursor.execute(sql.format(order=distance), [query, *params, query, limit])
        rows = cursor.fetchall()
        if len(rows) < limit:
            # Fewer rows than asked: the gallery (or department) is smaller than that, or the HNSW graph
            # reached only part of it. The elements of deleted and rolled-back rows stay in the graph until
            # VACUUM and can cut live ones off: after the test suite's many rolled-back enrolments, 1 of 8
            # faces was returned (docs/gallery.md). Either way an exact scan (ordered by similarity, which the
            # index cannot serve) answers right, and costs little for a gallery or department this small.
            cursor.execute(sql.format(order="similarity DESC"), [query, *params, limit])
            rows = cursor.fetchall()
    best: dict[int, tuple] = {}
    for row in rows:
        if row[0] not in best or row[4] > best[row[0]][4]:
            best[row[0]] = row
    return sorted(best.values(), key=lambda row: -row[4])[:k]
