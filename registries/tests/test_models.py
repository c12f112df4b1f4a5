import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from registries.models import Registry, RegistrySpace, SpaceBinding


def make_registry(**fields):
    values = {"name": "harbor", "kind": "harbor", "url": "https://harbor.example.com"}
    values.update(fields)
    return Registry(**values)


def test_password_is_encrypted_at_rest(db):
    registry = make_registry()
    registry.set_password("Harbor12345")
    registry.save()
    stored = Registry.objects.values_list("password_encrypted", flat=True).get()
    assert "Harbor12345" not in stored
    assert Registry.objects.get().get_password() == "Harbor12345"
    assert "Harbor12345" not in repr(registry.connection())


def test_workspace_registry_needs_its_workspace(db, workspace):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_registry(scope="workspace").save()
    with pytest.raises(IntegrityError), transaction.atomic():
        make_registry(scope="platform", workspace=workspace).save()
    make_registry(scope="workspace", workspace=workspace).save()


@pytest.mark.parametrize("url", ["ftp://harbor.example.com", "file:///etc/passwd", "harbor.example.com"])
def test_registry_url_must_be_http_or_https(db, url):
    registry = make_registry(url=url)
    with pytest.raises(ValidationError) as raised:
        registry.full_clean()
    assert "url" in raised.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        registry.save()


def test_duplicate_registry_name_is_refused(db):
    make_registry().save()
    with pytest.raises(ValidationError, match="already exists"):
        make_registry(url="https://other.example.com").full_clean()


def test_space_is_bound_to_a_workspace_once(db, workspace):
    registry = make_registry()
    registry.save()
    space = RegistrySpace.objects.create(registry=registry, name="payments")
    SpaceBinding.objects.create(space=space, workspace=workspace)
    with pytest.raises(IntegrityError), transaction.atomic():
        SpaceBinding.objects.create(space=space, workspace=workspace)
    assert space.bindings.count() == 1


def test_space_name_is_unique_per_registry(db):
    registry = make_registry()
    registry.save()
    RegistrySpace.objects.create(registry=registry, name="library")
    with pytest.raises(IntegrityError), transaction.atomic():
        RegistrySpace.objects.create(registry=registry, name="library")


def test_workspace_with_bindings_cannot_be_deleted(db, workspace):
    from django.db.models import ProtectedError

    registry = make_registry()
    registry.save()
    SpaceBinding.objects.create(
        space=RegistrySpace.objects.create(registry=registry, name="x"), workspace=workspace
    )
    with pytest.raises(ProtectedError):
        workspace.delete()
