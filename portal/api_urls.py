"""The REST API, version 1: each app keeps its own routes; this only gathers them."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated

from registries.api.pull_secret import namespace_pull_secret

app_name = "api"

urlpatterns = [
    path("", include("registries.api.urls")),
    path("", include("workspaces.api.urls")),
    path("", include("portal.api.urls")),
    path("", include("access_requests.api.urls")),
    path("namespaces/<int:pk>/pull-secret/", namespace_pull_secret, name="namespace-pull-secret"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="schema"),
]
