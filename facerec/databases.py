"""Everything that differs between FaceRec's three stores (SQLite, PostgreSQL, MongoDB), in one place.

Settings call `configure()` once; services call `serialised()` for a write that must see every
write committed before it and let none in until it ends. Nothing else in the code asks which
database it runs on, except the optional pgvector search (PostgreSQL only, by design).
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import environ

MONGO_SCHEMES = ("mongodb", "mongodb+srv")
MONGO_ENGINE = "facerec.mongodb"  # django-mongodb-backend, see facerec/mongodb/__init__.py
MONGO_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"
# Contrib and third-party apps whose models have integer ids: on MongoDB each needs an AppConfig
# with ObjectId ids (facerec.mongo_apps) and migrations made for it (facerec/mongo_migrations/).
MONGO_APP_CONFIGS = {
    "hr.apps.FaceRecAdminConfig": "facerec.mongo_apps.MongoAdminConfig",
    "django.contrib.auth": "facerec.mongo_apps.MongoAuthConfig",
    "django.contrib.contenttypes": "facerec.mongo_apps.MongoContentTypesConfig",
    "axes": "facerec.mongo_apps.MongoAxesConfig",
}
MONGO_APP_LABELS = ("admin", "auth", "contenttypes", "axes")  # theirs, in that order
# Third-party apps with migrations MongoDB cannot run as they are (django-tasks-db's index on expressions).
MONGO_MIGRATED_APPS = ("django_tasks_database",)
WRITE_LOCK = 0x46616365  # PostgreSQL advisory lock (and MongoDB lock document) taken by every face write


def is_mongo(database: dict) -> bool:
    return database["ENGINE"] == MONGO_ENGINE


def database_from_url(url: str) -> dict:
    """DATABASES["default"] from DATABASE_URL: sqlite://, postgres:// (django-environ) or mongodb://."""
    if urlsplit(url).scheme not in MONGO_SCHEMES:
        return environ.Env.db_url_config(url)
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise ValueError(f"DATABASE_URL {url!r} names no database: add it, e.g. mongodb://host/facerec")
    # The whole URL is the host: the driver reads replica set, TLS and credentials from it.
    return {"ENGINE": MONGO_ENGINE, "HOST": url, "NAME": name}


def configure(namespace: dict, url: str) -> None:
    """Set DATABASES and, for MongoDB, the ids, app configs and migrations it needs, in settings."""
    database = database_from_url(url)
    namespace["DATABASES"] = {"default": database}
    if is_mongo(database):
        namespace["DEFAULT_AUTO_FIELD"] = MONGO_AUTO_FIELD
        apps = [MONGO_APP_CONFIGS.get(app, app) for app in namespace["INSTALLED_APPS"]]
        namespace["INSTALLED_APPS"] = apps
        labels = [*MONGO_APP_LABELS, *MONGO_MIGRATED_APPS,
                  *namespace["LOCAL_APPS"]]
        namespace["MIGRATION_MODULES"] = {label: f"facerec.mongo_migrations.{label}" for label in labels}
        return
    database.setdefault("CONN_MAX_AGE", namespace["CONN_MAX_AGE"])
    database["CONN_HEALTH_CHECKS"] = True  # a restarted database costs no request a 500
    if database["ENGINE"].endswith("sqlite3"):
        # Several gunicorn workers on the embedded database: readers never block the writer (WAL),
        # writers queue for the lock instead of failing, and a commit does not wait for two fsyncs.
        database.setdefault("OPTIONS", {}).update({
            # secure_delete: a deleted face's bytes are overwritten, not left in free pages.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        })


@contextmanager
def serialised(using: str = "default"):
    """One transaction that sees every write committed before it and lets none in until it ends.

    SQLite transactions begin IMMEDIATE (settings), which serialises writers already; PostgreSQL
    takes an advisory lock; MongoDB takes a lock document before its transaction begins.
    """
    from django.db import connections

    connection = connections[using]
    with _mongo_lock(connection) if connection.vendor == "mongodb" else nullcontext(), atomic(using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
        yield


def atomic(using: str = "default"):
    """A multi-document atomic block on whichever store this is (django.db.transaction.atomic does nothing
    on MongoDB: there it is the backend's own transaction)."""
    from django.db import connections, transaction

    if connections[using].vendor == "mongodb":
        from django_mongodb_backend import transaction as mongo_transaction

        return mongo_transaction.atomic(using)
    return transaction.atomic(using)


LOCK_COLLECTION = "facerec_locks"
LOCK_LEASE = timedelta(seconds=30)  # a holder that died frees the lock after this


@contextmanager
def _mongo_lock(connection):
    """A lease on one document, taken atomically (single-document atomicity) and given back after.

    A transaction alone would not do: two MongoDB transactions writing one document do not queue,
    the second fails with a write conflict.
    """
    from pymongo.errors import DuplicateKeyError

    connection.ensure_connection()
    locks = connection.database[LOCK_COLLECTION]
    holder = uuid.uuid4().hex
    delay = 0.002
    while True:
        now = datetime.now(UTC)
        try:
            locks.update_one(
                {"_id": WRITE_LOCK, "$or": [{"holder": None}, {"expires": {"$lt": now}}]},
                {"$set": {"holder": holder, "expires": now + LOCK_LEASE}},
                upsert=True,
            )
            break  # updated a free lock, or inserted the first one
        except DuplicateKeyError:  # held: the upsert's insert collided with the holder's document
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
    try:
        yield
    finally:
        locks.update_one({"_id": WRITE_LOCK, "holder": holder}, {"$set": {"holder": None}})


def scrub_deleted(using: str = "default") -> None:
    """After a delete commits: on SQLite, move deleted pages out of the WAL file (secure_delete overwrites them)."""
    from django.db import connections, transaction

    connection = connections[using]
    if connection.vendor == "sqlite":
        transaction.on_commit(lambda: _checkpoint(connection), using)


def _checkpoint(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
