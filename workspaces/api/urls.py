from rest_framework.routers import SimpleRouter

from workspaces.api.views import WorkspaceViewSet

router = SimpleRouter(use_regex_path=False)
router.register("workspaces", WorkspaceViewSet, basename="workspace")

urlpatterns = router.urls
