from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import health, metrics, views, views_profile

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Answered by portal.health.ProbeMiddleware first; routed too, for reverse().
    path("healthz/", health.healthz, name="healthz"),
    path("readyz/", health.readyz, name="readyz"),
    path("metrics/", metrics.metrics_view, name="metrics"),
    path("audit-log/", views.audit_log, name="audit-log"),
    path("profile/", views_profile.profile, name="profile"),
    path("profile/tokens/<int:pk>/revoke/", views_profile.revoke_token, name="token-revoke"),
    path("api/v1/", include("portal.api_urls")),
    path("", include("registries.urls")),
    path("", include("workspaces.urls")),
    path("admin/", admin.site.urls),
]
