import pytest

from registries.models import Registry, RegistrySpace


@pytest.fixture
def registry(db):
    return Registry.objects.create(name="harbor", kind="harbor", url="https://harbor.example.com",
                                   is_demo=True)


@pytest.fixture
def vault(registry):
    return RegistrySpace.objects.create(registry=registry, name="vault", visibility="private")
