from collections.abc import Iterator

import pytest

from .double import ArtifactoryDouble, running_double


@pytest.fixture
def artifactory_double() -> Iterator[ArtifactoryDouble]:
    """A running Artifactory double with user ``admin``, closed to anonymous callers."""
    yield from running_double()
