from django.urls import path

from access_requests import views

app_name = "access_requests"

urlpatterns = [
    path("access-requests/", views.request_list, name="list"),
    path("access-requests/new/", views.request_create, name="create"),
    path("access-requests/<int:pk>/", views.request_detail, name="detail"),
    path("access-requests/<int:pk>/approve/", views.request_approve, name="approve"),
    path("access-requests/<int:pk>/decline/", views.request_decline, name="decline"),
]
