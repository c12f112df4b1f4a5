"""Spaces x workspaces pages all spaces by name with their ids from one index on PostgreSQL.

Over all registries the grid orders spaces by (name, registry) and pages them by id
(``registries.paging.KeyPaginator``): with ``(name, registry_id) INCLUDE (id)`` the page's ids
come from an index-only scan rather than from every skipped row of the table.

PostgreSQL only, like 0004: SQLite has no covering indexes (Django's check warns, models.W040),
and the index lives outside Django's model state so SQLite's table rebuilds never see it.
"""

from django.db import migrations

INDEX = "space_name_registry_id"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "registries_registryspace" '
        f'("name", "registry_id") INCLUDE ("id")'
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):
    dependencies = [
        ("registries", "0010_verbose_names"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
