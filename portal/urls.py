from django.contrib import admin
from django.urls import include, path

from portal import health, metrics, views, views_profile
from sso import views as sso_views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", sso_views.LogoutView.as_view(), name="logout"),
    path("", include("sso.urls")),
    # Answered by portal.health.ProbeMiddleware first; routed too, for reverse().
    path("healthz/", health.healthz, name="healthz"),
    path("readyz/", health.readyz, name="readyz"),
    path("metrics/", metrics.metrics_view, name="metrics"),
    path("audit-log/", views.audit_log, name="audit-log"),
    path("language/", views.set_language, name="set-language"),
    path("profile/", views_profile.profile, name="profile"),
    path("profile/tokens/<int:pk>/revoke/", views_profile.revoke_token, name="token-revoke"),
    path("api/v1/", include("portal.api_urls")),
    path("", include("registries.urls")),
    path("", include("workspaces.urls")),
    path("", include("access_requests.urls")),
    path("admin/", admin.site.urls),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error
