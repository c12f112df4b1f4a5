from rest_framework.routers import SimpleRouter

from workspaces.api.views import (
    ClusterViewSet,
    MemberViewSet,
    NamespaceViewSet,
    WorkspaceViewSet,
)

# Path routes (not regexes), each ending at its own slash: namespaces/<pk>/ does not catch
# namespaces/<pk>/images/ and the other picker routes that registries/api/urls.py adds.
router = SimpleRouter(use_regex_path=False)
router.register("workspaces", WorkspaceViewSet, basename="workspace")
router.register("workspaces/<int:workspace_pk>/members", MemberViewSet, basename="workspace-member")
router.register("clusters", ClusterViewSet, basename="cluster")
router.register("namespaces", NamespaceViewSet, basename="namespace")

urlpatterns = router.urls
