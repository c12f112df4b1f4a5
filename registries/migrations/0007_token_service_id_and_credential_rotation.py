"""Registries get an immutable token service id and their own signing keys; pull credentials
get an overlap window.

Existing registries that use the token service keep their name as their id, so the registries
already configured with ``service: <name>`` go on working: ids are never assigned again, so the
name cannot be taken over by a new registry. Every other registry gets a random id.

The existing signing keys become the shared key of the existing registries; registries
integrated from now on get their own.

Workspace registries (and Harbor ones) can no longer use the token service: it is turned off
for them, and the workspace credentials Wharf minted for them are removed.
"""

from django.db import migrations, models

import registries.models


def assign_token_service_ids(apps, schema_editor):
    Registry = apps.get_model("registries", "Registry")
    PullCredential = apps.get_model("registries", "PullCredential")
    refused = Registry.objects.filter(token_service=True).exclude(scope="platform", kind="distribution")
    PullCredential.objects.filter(registry__in=refused, registry__kind="distribution").delete()
    refused.update(token_service=False)
    for registry in Registry.objects.filter(token_service_id__isnull=True).only("pk", "name", "token_service"):
        legacy = registry.token_service
        registry.token_service_id = registry.name if legacy else registries.models.new_token_service_id()
        registry.save(update_fields=["token_service_id"])
    if schema_editor.connection.vendor == "postgresql":
        # The foreign key checks these writes queued would stop the ALTER TABLE that follows in
        # this transaction ("pending trigger events"): run them now.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute("SET CONSTRAINTS ALL DEFERRED")


class Migration(migrations.Migration):

    dependencies = [
        ("registries", "0006_registry_url_no_userinfo"),
    ]

    operations = [
        migrations.AddField(
            model_name="tokensigningkey",
            name="registry",
            field=models.ForeignKey(blank=True, null=True, on_delete=models.CASCADE,
                                    related_name="signing_keys", to="registries.registry"),
        ),
        migrations.AddField(
            model_name="pullcredential",
            name="previous_secret_hash",
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="pullcredential",
            name="previous_upstream_id",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="pullcredential",
            name="previous_username",
            field=models.CharField(blank=True, editable=False, max_length=255),
        ),
        migrations.AddField(
            model_name="pullcredential",
            name="previous_valid_until",
            field=models.DateTimeField(blank=True, editable=False, null=True,
                                       verbose_name="previous secret valid until"),
        ),
        migrations.AddField(
            model_name="pullcredential",
            name="rotated",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last rotated"),
        ),
        migrations.AddField(
            model_name="registry",
            name="token_service_id",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(assign_token_service_ids, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="registry",
            name="token_service_id",
            field=models.CharField(
                default=registries.models.new_token_service_id, editable=False,
                help_text="The service name the registry's auth.token configuration uses; set by Wharf.",
                max_length=64, unique=True, verbose_name="token service id"),
        ),
        migrations.AddConstraint(
            model_name="registry",
            constraint=models.CheckConstraint(
                condition=models.Q(("token_service", False),
                                   models.Q(("kind", "distribution"), ("scope", "platform")),
                                   _connector="OR"),
                name="registry_token_service_platform_distribution",
                violation_error_message="Only an Admin's Docker Registry (Integrated Registry (Admin)) "
                                        "can use Wharf's token service."),
        ),
    ]
