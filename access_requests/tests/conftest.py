import pytest

from testkit import factories


@pytest.fixture
def vault(registry):
    return factories.make_space(registry, "vault")
