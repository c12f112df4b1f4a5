"""The servers tests talk to, importable from one place: the Harbor and Artifactory doubles
(their REST APIs over real HTTP) and a real docker-registry (with skopeo, OCI images, a token
server).

Listed in the root ``conftest.py``'s ``pytest_plugins``, this module also brings their fixtures:
``harbor_double``, ``registry_factory``, ``real_registry``, ``populated_registry``,
``oci_images``, ``token_server``, ``docker_registry_binary`` and ``skopeo_binary``. The
Artifactory double's fixture (``artifactory_double``) is its kind's tests' own; a benchmark
starts one with ``running_double()``.
"""

from registries.kinds.artifactory.tests.double import ArtifactoryDouble, running_double
from registries.kinds.harbor.tests.harbor_double import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    HarborDouble,
    HarborError,
    harbor_double,
)
from registries.tests.real_registry import (
    BuiltImage,
    FakeTokenServer,
    OciLayout,
    RegistryServer,
    build_image,
    build_index,
    docker_registry_binary,
    oci_images,
    populated_registry,
    real_registry,
    registry_factory,
    require_binary,
    skopeo_binary,
    token_server,
)

__all__ = [
    "ADMIN_PASSWORD",
    "ADMIN_USER",
    "ArtifactoryDouble",
    "running_double",
    "BuiltImage",
    "FakeTokenServer",
    "HarborDouble",
    "HarborError",
    "OciLayout",
    "RegistryServer",
    "build_image",
    "build_index",
    "docker_registry_binary",
    "harbor_double",
    "oci_images",
    "populated_registry",
    "real_registry",
    "registry_factory",
    "require_binary",
    "skopeo_binary",
    "token_server",
]
