from rest_framework.routers import SimpleRouter

from access_requests.api.views import AccessRequestViewSet

router = SimpleRouter(use_regex_path=False)
router.register("access-requests", AccessRequestViewSet, basename="access-request")

urlpatterns = router.urls
