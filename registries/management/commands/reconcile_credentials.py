"""``manage.py reconcile_credentials``: the periodic repair of Harbor pull credentials.

A scheduler (cron, a Kubernetes CronJob) runs it. Every (workspace, platform Harbor) pair that
has a credential or needs one is brought in line with the access rule, robots edited or
deleted in Harbor are repaired, each stored secret is proved by logging in with it, robots
of deleted workspaces are deleted, and the previous secrets of rotations whose overlap window
is over stop working (their robots are deleted); expired and revoked login commands are
ended, and login robots no working login command holds are deleted. One line per pair; exit status 1 when any
failed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from registries import login_commands, robots
from registries.models import PullCredential, Registry
from workspaces.models import Workspace


class Command(BaseCommand):
    help = (
        "Reconcile the Harbor robot accounts that hold workspaces' pull credentials with the "
        "bindings, repair drift and delete leftovers. Exits with status 1 if any pair failed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--workspace",
            action="append",
            default=[],
            metavar="NAME",
            help="only this workspace (repeatable)",
        )
        parser.add_argument(
            "--registry", action="append", default=[], metavar="NAME", help="only this registry (repeatable)"
        )
        parser.add_argument(
            "--no-verify-secrets",
            action="store_true",
            help="do not log in as each robot to prove its stored secret",
        )
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="rotate the selected workspaces' robot secrets, the old ones working for "
            "WHARF_CREDENTIAL_OVERLAP seconds (needs --workspace)",
        )

    def handle(
        self,
        *args,
        workspace: list[str],
        registry: list[str],
        no_verify_secrets: bool,
        rotate: bool,
        **options,
    ):
        workspaces = self._named(Workspace, workspace, "workspace") if workspace else None
        registries = self._named(Registry, registry, "registry") if registry else None
        if registries is not None:
            for item in registries:
                reason = robots.skip_reason(item)
                if reason:
                    self.stdout.write(f"{item.name}: skipped ({reason})")
        if rotate:
            if workspaces is None:
                raise CommandError(
                    "--rotate needs --workspace: rotating every secret at once breaks "
                    "every deployed pull secret."
                )
            outcomes = self._rotate(workspaces, registries)
        else:
            if workspaces is None:
                login_commands.sweep()
            outcomes = robots.retire_expired(workspaces=workspaces, registries=registries)
            outcomes += robots.reconcile_all(
                verify_secret=not no_verify_secrets,
                workspaces=workspaces,
                registries=registries,
                sweep=workspaces is None,
            )
        if not outcomes:
            self.stdout.write("No Harbor pull credentials to reconcile.")
            return
        failed = 0
        for outcome in outcomes:
            if outcome.failed:
                failed += 1
                self.stdout.write(self.style.ERROR(outcome.line()))
            else:
                self.stdout.write(self.style.SUCCESS(outcome.line()))
        if failed:
            raise CommandError(f"{failed} of {len(outcomes)} pull credentials failed.")

    def _named(self, model, names: list[str], what: str) -> list:
        found = {item.name: item for item in model.objects.filter(name__in=names)}
        unknown = [name for name in dict.fromkeys(names) if name not in found]
        if unknown:
            raise CommandError(f"No {what} named {', '.join(map(repr, unknown))}.")
        return [found[name] for name in dict.fromkeys(names)]

    def _rotate(self, workspaces, registries) -> list[robots.Outcome]:
        credentials = (
            PullCredential.objects.filter(
                workspace__in=workspaces,
                registry__in=registries or robots.managed_registries(),
            )
            .select_related("workspace", "registry")
            .order_by("registry__name", "workspace__name")
        )
        return [
            robots.rotate(credential, None, reason="manage.py reconcile_credentials --rotate")
            for credential in credentials
        ]
