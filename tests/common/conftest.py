import pytest
from django.db import connection

from tests.common.kit_models import TABLES


@pytest.fixture(scope="session", autouse=True)
def kit_tables(django_db_setup, django_db_blocker):
    """The kit's test models get their tables once, next to the migrated ones."""
    with django_db_blocker.unblock():
        existing = set(connection.introspection.table_names())
        with connection.schema_editor() as editor:
            for model in TABLES:
                if model._meta.db_table not in existing:
                    editor.create_model(model)
