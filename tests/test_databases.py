"""DATABASE_URL picks the store; what differs between the three lives in facerec.databases."""

import pytest

from facerec import databases


def settings_for(url):
    namespace = {"INSTALLED_APPS": ["hr.apps.FaceRecAdminConfig", "django.contrib.sessions", "axes", "entries"],
                 "LOCAL_APPS": ["entries"], "CONN_MAX_AGE": 60}
    databases.configure(namespace, url)
    return namespace


def test_sqlite_and_postgresql_keep_django_ids_and_migrations():
    sqlite = settings_for("sqlite:////tmp/x.sqlite3")
    assert sqlite["DATABASES"]["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "MIGRATION_MODULES" not in sqlite and "DEFAULT_AUTO_FIELD" not in sqlite
    postgres = settings_for("postgres://u@db:5432/facerec")
    assert postgres["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert postgres["DATABASES"]["default"]["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize("url", ["mongodb://u:p@h1:27017,h2:27017/facerec?replicaSet=rs0",
                                 "mongodb+srv://u:p@cluster.example.net/facerec"])
def test_mongodb_gets_objectid_ids_and_its_own_migrations(url):
    mongo = settings_for(url)
    assert mongo["DATABASES"]["default"] == {"ENGINE": "facerec.mongodb", "HOST": url, "NAME": "facerec"}
    assert mongo["DEFAULT_AUTO_FIELD"] == "django_mongodb_backend.fields.ObjectIdAutoField"
    assert mongo["INSTALLED_APPS"][0] == "facerec.mongo_apps.MongoAdminConfig"
    assert mongo["MIGRATION_MODULES"]["entries"] == "facerec.mongo_migrations.entries"


def test_a_mongodb_url_must_name_its_database():
    with pytest.raises(ValueError, match="names no database"):
        settings_for("mongodb://localhost:27017")
