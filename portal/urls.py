from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import views, views_profile

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    # LoginView would take PUT as a POST: the page answers only what its form uses.
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True,
                                                http_method_names=["get", "head", "post"]),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz/", views.healthz, name="healthz"),
    path("readyz/", views.readyz, name="readyz"),
    path("audit-log/", views.audit_log, name="audit-log"),
    path("profile/", views_profile.profile, name="profile"),
    path("profile/tokens/<int:pk>/revoke/", views_profile.revoke_token, name="token-revoke"),
    path("api/v1/", include("portal.api_urls")),
    path("", include("registries.urls")),
    path("", include("workspaces.urls")),
    path("admin/", admin.site.urls),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error
