"""Search over registry space names uses a trigram index on PostgreSQL.

The Registry space page searches with ``name__icontains``, which Django writes on PostgreSQL
as ``UPPER("name"::text) LIKE UPPER('%q%')``. A B-tree cannot serve a pattern with a leading
``%``, so without this index every search (and the page count beside it) reads all of the
registry's spaces. A GIN ``gin_trgm_ops`` index on that same expression serves it.

PostgreSQL only: SQLite (the default database for ``make run``) has no such index type, so the
operations do nothing there. The index lives outside Django's model state on purpose: in model
state, SQLite's table rebuilds in later migrations would try to recreate it.
"""

from django.db import migrations

INDEX = "registries_space_name_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "registries_registryspace" '
        f'USING gin ((UPPER("name"::text)) gin_trgm_ops)'
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # The extension stays: other indexes may use it.
    schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):
    dependencies = [
        ("registries", "0003_pull_credentials_token_keys"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
