from django.urls import path
from rest_framework.routers import SimpleRouter

from registries.api.images import (
    ArtifactLayersView,
    ArtifactScanView,
    ArtifactView,
    NamespaceExplainView,
    NamespaceImagesView,
    NamespaceImageTagsView,
    NamespaceManifestView,
    RepositoryDetailView,
    RepositoryTagListView,
    RepositoryTagView,
)
from registries.api.login_command import LoginCommandView
from registries.api.views import RegistrySpaceListView, RegistryViewSet, SpaceViewSet
from registries.api.workspace_views import PullCredentialViewSet, WorkspaceRegistryViewSet

router = SimpleRouter(use_regex_path=False)
router.register("registries", RegistryViewSet, basename="registry")
router.register("spaces", SpaceViewSet, basename="space")
# A workspace's own registries and pull credentials (the workspace from workspaces/api/scope.py).
router.register(
    "workspaces/<int:workspace_pk>/registries", WorkspaceRegistryViewSet, basename="workspace-registry"
)
router.register(
    "workspaces/<int:workspace_pk>/pull-credentials",
    PullCredentialViewSet,
    basename="workspace-pull-credential",
)

urlpatterns = [
    # Choose Image, the explainer and Create by Image, per namespace (registries/api/images.py).
    # Explicit paths, so they never collide with the namespace routes in workspaces/api.
    path("namespaces/<int:namespace_pk>/images/", NamespaceImagesView.as_view(), name="namespace-images"),
    path(
        "namespaces/<int:namespace_pk>/images/<int:repository_pk>/tags/",
        NamespaceImageTagsView.as_view(),
        name="namespace-image-tags",
    ),
    path("namespaces/<int:namespace_pk>/explain/", NamespaceExplainView.as_view(), name="namespace-explain"),
    path(
        "namespaces/<int:namespace_pk>/manifests/",
        NamespaceManifestView.as_view(),
        name="namespace-manifests",
    ),
    # The repository page (registries/api/images.py): details, layers, scans, deletion.
    path("repositories/<int:pk>/", RepositoryDetailView.as_view(), name="repository-detail"),
    path("repositories/<int:pk>/tags/", RepositoryTagListView.as_view(), name="repository-tags"),
    path("repositories/<int:pk>/tags/<str:tag>/", RepositoryTagView.as_view(), name="repository-tag"),
    path("repositories/<int:pk>/artifacts/<str:digest>/", ArtifactView.as_view(), name="artifact-detail"),
    path(
        "repositories/<int:pk>/artifacts/<str:digest>/layers/",
        ArtifactLayersView.as_view(),
        name="artifact-layers",
    ),
    path(
        "repositories/<int:pk>/artifacts/<str:digest>/scan/", ArtifactScanView.as_view(), name="artifact-scan"
    ),
    path("registries/<int:registry_pk>/spaces/", RegistrySpaceListView.as_view(), name="registry-spaces"),
    path(
        "registries/<int:registry_pk>/login-command/",
        LoginCommandView.as_view(),
        name="registry-login-command",
    ),
    *router.urls,
]
