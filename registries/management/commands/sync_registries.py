"""``manage.py sync_registries [name ...]``: the periodic sync a scheduler (cron, a Kubernetes
CronJob) runs. Syncs in this process, one registry after the other, and exits 1 when any
failed so the scheduler can tell."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from registries.models import Registry, SyncRun
from registries.sync import sync_registry


class Command(BaseCommand):
    help = (
        "Sync registries (all non-demo ones, or those named): their spaces, repositories and "
        "tags. Exits with status 1 if any sync failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", metavar="name", help="registry names")

    def handle(self, *args, names: list[str], **options):
        if names:
            found = {registry.name: registry for registry in Registry.objects.filter(name__in=names)}
            unknown = [name for name in dict.fromkeys(names) if name not in found]
            if unknown:
                raise CommandError(f"No registry named {', '.join(map(repr, unknown))}.")
            # Named demo registries are not silently dropped: their refusal is reported.
            registries = [found[name] for name in dict.fromkeys(names)]
        else:
            registries = list(Registry.objects.filter(is_demo=False).order_by("name"))
            if not registries:
                self.stdout.write("No registries to sync.")
                return

        failed = 0
        for registry in registries:
            run = sync_registry(registry)
            self.stdout.write(self._line(registry, run))
            failed += run.result == SyncRun.Result.FAILED
        if failed:
            raise CommandError(f"{failed} of {len(registries)} registry syncs failed.")

    def _line(self, registry: Registry, run: SyncRun) -> str:
        counts = (
            f"{run.spaces} spaces, {run.repositories} repositories, {run.tags} tags, {run.requests} requests"
        )
        if run.result == SyncRun.Result.RUNNING:
            started = run.started.isoformat(timespec="seconds")
            return f"{registry.name}: already being synced (run {run.pk} started {started})"
        seconds = run.duration.total_seconds() if run.duration is not None else 0.0
        if run.result == SyncRun.Result.SUCCEEDED:
            return self.style.SUCCESS(f"{registry.name}: succeeded: {counts}, {seconds:.1f} s")
        return self.style.ERROR(f"{registry.name}: failed after {seconds:.1f} s ({counts}): {run.error}")
