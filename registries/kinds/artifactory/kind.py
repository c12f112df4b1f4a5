"""JFrog Artifactory: spaces are its Docker repositories (local, remote, virtual), read through
its REST and Docker Registry v2 APIs (client.py). Wharf neither creates nor deletes them, and
hands out no pull credentials: users and clusters pull with their own Artifactory accounts,
whose permissions Artifactory checks. Public/private is Wharf's own and decides only who sees a
space in Wharf; new spaces start private, so a repository appearing in Artifactory is shown to
nobody until an Admin opens or binds it."""

from urllib.parse import urlsplit

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from registries.kinds.artifactory.client import CONTEXT, ArtifactoryClient
from registries.kinds.base import RegistryKind


class Artifactory(RegistryKind):
    name = "artifactory"
    label = _("JFrog Artifactory")
    client_class = ArtifactoryClient
    spaces_start_private = True
    native_ui = True

    def image_host(self, url: str) -> str:
        """Images are pulled as ``<host>/<repo-key>/<image>`` ("repository path" method): the
        host alone, also when the URL given is Artifactory's own (…/artifactory)."""
        parts = urlsplit(url)
        path = parts.path.rstrip("/")
        if path.endswith(CONTEXT):
            path = path[: -len(CONTEXT)]
        return f"{parts.netloc}{path}" if parts.netloc else super().image_host(url)

    def notices(self, registry) -> dict[str, str]:
        return {
            "registry": gettext(
                "Spaces are the Docker repositories of this Artifactory (local, remote and virtual). "
                "Workspaces and clusters pull with their own Artifactory credentials: Wharf hands "
                "out none."
            ),
            "spaces": gettext(
                "Spaces are Artifactory's Docker repositories (local, remote and virtual). Type "
                "(public or private) is Wharf's own: Wharf shows a private space only to the "
                "workspaces bound to it, but Artifactory's own permissions decide who can pull. "
                "To add a space, create the Docker repository in Artifactory, then sync."
            ),
            "space_create": gettext(
                "Create registry space is not available for JFrog Artifactory: create the Docker "
                "repository in Artifactory, then sync this registry."
            ),
        }
