from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMIN_GROUP = "Admin"
MANAGED_APPS = ("workspaces", "registries")


def create_admin_group(apps, schema_editor):
    # Permissions are normally created after all migrations; make them exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
    permissions = Permission.objects.filter(content_type__app_label__in=MANAGED_APPS) | \
        Permission.objects.filter(content_type__app_label="portal", codename="view_auditevent")
    group.permissions.set(permissions)


def remove_admin_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=ADMIN_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        ("workspaces", "0001_initial"),
        ("registries", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_admin_group, remove_admin_group)]
