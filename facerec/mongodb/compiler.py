from functools import wraps

from django.db import DatabaseError, IntegrityError
from django_mongodb_backend import compiler
from pymongo.errors import WriteError

DOCUMENT_FAILED_VALIDATION = 121


def validation_is_integrity(write):
    """A document refused by the collection's validator (a check constraint) is an IntegrityError, as on SQL."""

    @wraps(write)
    def wrapper(*args, **kwargs):
        try:
            return write(*args, **kwargs)
        except DatabaseError as exc:
            cause = exc.__cause__
            if isinstance(cause, WriteError) and cause.code == DOCUMENT_FAILED_VALIDATION:
                raise IntegrityError(f"document failed validation: {cause.details}") from cause
            raise

    return wrapper


class ProjectJoinedByExpression:
    def get_project_fields(self, columns=None, ordering=None, force_expression=False):
        fields = super().get_project_fields(columns, ordering, force_expression)
        for collection, value in fields.items():
            if isinstance(value, dict):  # a joined collection's fields
                fields[collection] = {
                    name: f"${collection}.{name}" if mql == 1 else mql for name, mql in value.items()
                }
        return fields


class SQLCompiler(ProjectJoinedByExpression, compiler.SQLCompiler):
    pass


class SQLInsertCompiler(ProjectJoinedByExpression, compiler.SQLInsertCompiler):
    insert = validation_is_integrity(compiler.SQLInsertCompiler.insert)


class SQLDeleteCompiler(ProjectJoinedByExpression, compiler.SQLDeleteCompiler):
    pass


class SQLUpdateCompiler(ProjectJoinedByExpression, compiler.SQLUpdateCompiler):
    update = validation_is_integrity(compiler.SQLUpdateCompiler.update)


class SQLAggregateCompiler(ProjectJoinedByExpression, compiler.SQLAggregateCompiler):
    pass
