from django.urls import path
from rest_framework.routers import SimpleRouter

from registries.api.views import RegistrySpaceListView, RegistryViewSet, SpaceViewSet

router = SimpleRouter(use_regex_path=False)
router.register("registries", RegistryViewSet, basename="registry")
router.register("spaces", SpaceViewSet, basename="space")

urlpatterns = [
    path("registries/<int:registry_pk>/spaces/", RegistrySpaceListView.as_view(),
         name="registry-spaces"),
    *router.urls,
]
