"""``manage.py expire_bindings``: unbind the bindings whose end has come, now.

A scheduler runs it every minute (the ``wharf-expire-bindings`` CronJob). Each space's ended
bindings go through ``registries.services.change_bindings``, as if an Admin had unbound them in
the dialog: audit events by "expiry", Harbor robots updated, the token service refusing from
the next token. It also closes access requests whose workspace can use the space by now.
"""

from django.core.management.base import BaseCommand

from access_requests.services import close_all_satisfied
from registries import services


class Command(BaseCommand):
    help = "Unbind every binding of a registry space to a workspace whose end has come."

    def handle(self, *args, **options):
        for space, workspaces in services.expire_bindings():
            for workspace in workspaces:
                self.stdout.write(f"{space}: unbound {workspace.name} (binding ended)")
        for request in close_all_satisfied():
            self.stdout.write(f"access request {request.pk} ({request}): closed, the workspace can use it")
