"""Indexes for Images, Choose Image and the tag lists at scale (issue 5, performance).

- ``repository_name_order`` (name, id, space_id): the repository lists are ordered by name;
  walking this index finds a page's ids without sorting every repository a workspace may see,
  nor reading the table (the space, which decides visibility, is in the index).
- ``tag_newest_first`` (repository, pushed DESC, name, id): a repository's tags in the order
  every tag list shows them.
- ``registries_repository_name_trgm`` (PostgreSQL only): searches use ``name__icontains``,
  which Django writes on PostgreSQL as ``UPPER("name"::text) LIKE UPPER('%q%')``. A B-tree cannot
  serve a pattern with a leading ``%``; a GIN ``gin_trgm_ops`` index on that same expression
  does. As in 0004, it lives outside Django's model state on purpose (SQLite has no such index
  type, and its table rebuilds in later migrations would try to recreate it), and the
  operation does nothing on other databases.
"""

from django.db import migrations, models

TRIGRAM_INDEX = "registries_repository_name_trgm"


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{TRIGRAM_INDEX}" ON "registries_repository" '
        f'USING gin ((UPPER("name"::text)) gin_trgm_ops)'
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # The extension stays: other indexes use it.
    schema_editor.execute(f'DROP INDEX IF EXISTS "{TRIGRAM_INDEX}"')


class Migration(migrations.Migration):
    dependencies = [
        ("registries", "0004_space_name_trigram_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="repository",
            index=models.Index(fields=["name", "id", "space"], name="repository_name_order"),
        ),
        migrations.AddIndex(
            model_name="tag",
            index=models.Index(fields=["repository", "-pushed", "name", "id"], name="tag_newest_first"),
        ),
        migrations.RunPython(create_trigram_index, drop_trigram_index, elidable=False),
    ]
