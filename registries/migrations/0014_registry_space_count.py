"""Each registry keeps its number of spaces (``Registry.space_count``).

The registry lists (Integrated Registry (Admin), a workspace's registries, the API) showed a
count of each registry's spaces made on every view, which reads all of them: at 14,000 spaces
in a registry it was most of the page's SQL time and grew with the data (bench/pages_bench.py,
issue 15). The count is now written where spaces are created and deleted
(registries.services, the sync); this migration fills it for the registries there are.
"""

from django.db import migrations, models
from django.db.models.functions import Coalesce


def count_spaces(apps, schema_editor):
    Registry = apps.get_model("registries", "Registry")
    RegistrySpace = apps.get_model("registries", "RegistrySpace")
    counts = (
        RegistrySpace.objects.filter(registry=models.OuterRef("pk"))
        .order_by()
        .values("registry")
        .annotate(n=models.Count("pk"))
        .values("n")
    )
    Registry.objects.update(space_count=Coalesce(models.Subquery(counts), 0))


class Migration(migrations.Migration):
    dependencies = [
        ("registries", "0013_artifactory_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="registry",
            name="space_count",
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name="spaces"),
        ),
        migrations.RunPython(count_spaces, migrations.RunPython.noop),
    ]
