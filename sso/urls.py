from django.urls import path

from sso import views

app_name = "sso"

urlpatterns = [
    path("oidc/authenticate/", views.AuthenticateView.as_view(), name="authenticate"),
    path("oidc/callback/", views.CallbackView.as_view(), name="callback"),
]
