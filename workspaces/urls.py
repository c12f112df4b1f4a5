from django.urls import path

from workspaces import views

app_name = "workspaces"

urlpatterns = [
    path("workspaces/", views.workspace_list, name="list"),
    path("workspaces/new/", views.workspace_create, name="create"),
    path("workspaces/<int:pk>/", views.workspace_detail, name="detail"),
    path("workspaces/<int:pk>/edit/", views.workspace_edit, name="edit"),
    path("workspaces/<int:pk>/delete/", views.workspace_delete, name="delete"),
    path("workspaces/<int:pk>/members/", views.member_add, name="member-add"),
    path("workspaces/<int:pk>/members/<int:member_pk>/", views.member_change, name="member-change"),
    path("workspaces/<int:pk>/members/<int:member_pk>/remove/", views.member_remove, name="member-remove"),
    path(
        "workspaces/<int:pk>/pull-credentials/rotate/",
        views.pull_credentials_rotate,
        name="pull-credentials-rotate",
    ),
    path("namespaces/", views.namespace_list, name="namespace-list"),
    path("namespaces/new/", views.namespace_create, name="namespace-create"),
    path("namespaces/<int:pk>/", views.namespace_detail, name="namespace-detail"),
    path("namespaces/<int:pk>/workspace/", views.namespace_bind, name="namespace-bind"),
    path("namespaces/<int:pk>/pull-secret.yaml", views.namespace_pull_secret, name="namespace-pull-secret"),
    path("clusters/new/", views.cluster_create, name="cluster-create"),
]
