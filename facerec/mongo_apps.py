"""On MongoDB, contrib and third-party apps with integer ids get ObjectId ids (django-mongodb-backend).

Settings swap these in only when DATABASE_URL is mongodb:// (facerec.databases), and their
migrations are the ones in facerec/mongo_migrations/.
"""

from axes.apps import AppConfig as AxesConfig
from django.contrib.auth.apps import AuthConfig
from django.contrib.contenttypes.apps import ContentTypesConfig

from hr.apps import FaceRecAdminConfig

from .databases import MONGO_AUTO_FIELD


class MongoAdminConfig(FaceRecAdminConfig):
    default_auto_field = MONGO_AUTO_FIELD


class MongoAuthConfig(AuthConfig):
    default_auto_field = MONGO_AUTO_FIELD


class MongoContentTypesConfig(ContentTypesConfig):
    default_auto_field = MONGO_AUTO_FIELD


class MongoAxesConfig(AxesConfig):
    default_auto_field = MONGO_AUTO_FIELD
