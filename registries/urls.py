from django.urls import path

from registries import (
    deploy_views,
    image_views,
    login_views,
    matrix_views,
    robot_views,
    views,
    workspace_views,
)
from registries.tokens import views as token_views

app_name = "registries"

urlpatterns = [
    path("workspace-registries/", workspace_views.workspace_registry_list, name="workspace-list"),
    path("workspace-registries/new/", workspace_views.workspace_registry_create, name="workspace-create"),
    path(
        "workspace-registries/<int:pk>/", workspace_views.workspace_registry_detail, name="workspace-detail"
    ),
    path(
        "workspace-registries/<int:pk>/edit/", workspace_views.workspace_registry_edit, name="workspace-edit"
    ),
    path(
        "workspace-registries/<int:pk>/sync/", workspace_views.workspace_registry_sync, name="workspace-sync"
    ),
    path(
        "workspace-registries/<int:pk>/remove/",
        workspace_views.workspace_registry_remove,
        name="workspace-remove",
    ),
    path("registries/", views.platform_list, name="platform-list"),
    path("registries/bindings/", matrix_views.binding_matrix, name="binding-matrix"),
    path("registries/bindings.csv", matrix_views.binding_export, name="binding-export"),
    path("registries/new/", views.registry_create, name="create"),
    path("registries/<int:pk>/", views.registry_detail, name="detail"),
    path("registries/<int:pk>/edit/", views.registry_edit, name="edit"),
    path("registries/<int:pk>/remove/", views.registry_remove, name="remove"),
    path("registries/<int:pk>/sync/", views.registry_sync, name="sync"),
    path("registries/<int:pk>/spaces/", views.space_list, name="spaces"),
    path("registries/<int:pk>/spaces/new/", views.space_create, name="space-create"),
    path("registries/<int:pk>/spaces/<int:space_pk>/row/", views.space_row, name="space-row"),
    path("registries/<int:pk>/spaces/<int:space_pk>/bindings/", views.space_bindings, name="space-bindings"),
    path(
        "registries/<int:pk>/spaces/<int:space_pk>/visibility/",
        views.space_visibility,
        name="space-visibility",
    ),
    path("registries/<int:pk>/spaces/<int:space_pk>/delete/", views.space_delete, name="space-delete"),
    # Images, the Choose Image picker and "Why can't I see this image?" (registries/image_views.py)
    path("images/", image_views.images, name="images"),
    path("images/<int:pk>/", image_views.repository_detail, name="repository"),
    path("images/<int:pk>/delete/", image_views.repository_delete, name="repository-delete"),
    path("images/<int:pk>/tags/<str:tag>/delete/", image_views.tag_delete, name="tag-delete"),
    path(
        "images/<int:pk>/artifacts/<str:digest>/layers/", image_views.artifact_layers, name="artifact-layers"
    ),
    path("images/<int:pk>/artifacts/<str:digest>/scan/", image_views.artifact_scan, name="artifact-scan"),
    path(
        "images/<int:pk>/artifacts/<str:digest>/delete/", image_views.artifact_delete, name="artifact-delete"
    ),
    # Create by Image (registries/deploy_views.py): a Deployment for an image the namespace may use.
    path("deploy/", deploy_views.create_by_image, name="create-by-image"),
    path("deploy/download/", deploy_views.download_manifest, name="create-by-image-download"),
    path("images/picker/", image_views.picker, name="picker"),
    path("images/picker/<int:pk>/tags/", image_views.picker_tags, name="picker-tags"),
    path("explain/", image_views.explain_page, name="explain"),
    # Generate login command and the push commands of a registry's spaces (registries/login_views.py)
    path("images/registries/<int:pk>/login/", login_views.login_command, name="login-command"),
    path(
        "images/registries/<int:pk>/login/revoke/",
        login_views.revoke_login_command,
        name="login-command-revoke",
    ),
    # The Docker token service (registries/tokens/views.py): called by registries' clients.
    path("auth/token", token_views.token, name="token"),
    path("auth/certificates.pem", token_views.certificates, name="token-certificates"),
    # Harbor pull credentials' propagation status: Retry (registries/robot_views.py)
    path(
        "registries/<int:pk>/credentials/<int:credential_pk>/retry/",
        robot_views.retry_credential,
        name="credential-retry",
    ),
]
