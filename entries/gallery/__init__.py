"""The gallery: what is derived from face entries to search them, kept outside the models.

The models (entries.models) are plain data and import nothing above them; the vector rules are
entries.recognition.vectors. Derived from them here:

- index: each process's search index (ExactIndex, in memory; PgVectorIndex, in PostgreSQL) and
  get_index, which picks one by FACEREC["SEARCH_BACKEND"].
- pgvector: the face_vectors table, a normalised copy of every photo's embedding with an HNSW index.
- receivers: after every write of an entry or a photo (save, delete, the bulk writes the models
  announce with written_in_bulk, `flush`), in the same transaction, mirror the embeddings to
  face_vectors and renew GalleryState once, so every process's index re-reads what changed.

Signals rather than calls from the services: the admin, `loaddata`, the shell and bulk imports
write without the services, and derived data must follow every write (as Saleor keeps its search
vectors outside its models).
"""
