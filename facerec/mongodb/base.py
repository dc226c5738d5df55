from django_mongodb_backend.base import DatabaseWrapper as MongoDatabaseWrapper
from django_mongodb_backend.operations import DatabaseOperations as MongoDatabaseOperations


class DatabaseOperations(MongoDatabaseOperations):
    compiler_module = "facerec.mongodb.compiler"


class DatabaseWrapper(MongoDatabaseWrapper):
    ops_class = DatabaseOperations

    def commit_mongo(self):
        """Commit the backend's transaction even inside django.db.transaction.atomic.

        The admin wraps its views in Django's atomic, which does nothing on MongoDB but mark the
        connection as in an atomic block; the backend then refuses to run commit hooks and fails
        the request after its transaction committed. Here the hooks run as they would outside.
        """
        if not self.in_atomic_block:
            return super().commit_mongo()
        if self.session:
            self.session.commit_transaction()
            self._end_session()
        hooks, self.run_on_commit = self.run_on_commit, []
        for _savepoints, hook, _robust in hooks:
            hook()
