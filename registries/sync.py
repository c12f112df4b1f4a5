"""Sync: copy what a registry holds (spaces, repositories, tags) into Wharf's cache.

``sync_registry(registry) -> SyncRun`` is the one entry point; the task, the management command
and "Sync now" all end up here. The rules it keeps (design sections 5 and 6):

* **Demo registries are never contacted.** Their sync is refused with a failed run whose error
  is ``DEMO_REFUSAL``; the registry's status is left alone (demo data has no upstream whose
  health could be known).
* **A failed or partial sync changes nothing that exists.** Every write of a run happens in one
  transaction; any failure (network, an off-spec answer, the database) rolls all of it back.
  Only then, outside that transaction, the registry turns Unhealthy with the client's message
  and the time, and the run is recorded as failed.
* **Bounded memory.** Spaces, repositories and tags are streamed from the client and written
  in batches of ``BATCH_SIZE`` repositories. Kept for the whole run: a few values per *space*;
  per batch: its repositories and their tags. Nothing is kept per repository across batches:
  repositories confirmed by this run carry its timestamp in ``synced``, and the ones left with
  an older one are those that disappeared.
* **Database round trips grow per batch, never per item.** Tags and spaces that did not change
  are not written at all.
* **Disappearing things.** A space absent from a complete, successful listing is marked
  ``missing`` (never deleted: its bindings stay until an Admin removes it) and loses that flag
  when it comes back. Repositories and tags absent from a complete listing are deleted: they
  are cached metadata, not user data, and that happens only in a run that succeeds.
* **Visibility.** Harbor decides the visibility of its projects, so sync copies it. A
  distribution registry has none: Wharf owns it. New distribution spaces start ``public``
  (such a registry lets anyone pull until it uses Wharf's token service) and sync never
  overwrites the visibility of an existing one. Artifactory's repositories, whose pulls
  Artifactory guards itself, start ``private`` (its kind says ``spaces_start_private``): a new
  repository is listed to nobody until an Admin opens or binds it. An empty distribution space
  that Wharf created and nothing was ever pushed to is not "missing": it never existed upstream.
  A kind that creates no spaces in Wharf has no such spaces: its unlisted spaces go missing.
* **One run per registry at a time.** Starting a run takes a short row lock on the registry and
  looks for a run still ``running``; if there is one, that run is returned as it is (still
  ``running``) and the registry is not contacted. This is chosen over holding the registry's
  row lock for the whole run, which would block edits of the registry for as long as a large
  sync lasts. A run ``running`` for longer than ``WHARF_TASK_STALE_AFTER`` belongs to a worker that
  died: it is marked failed and a new run starts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal import metrics
from portal.crypto import DecryptionError
from registries import outbound, robots
from registries.clients import (
    BadAnswer,
    NotFound,
    RegistryClient,
    RegistryError,
    RepositoryInfo,
    SpaceInfo,
    TagInfo,
)
from registries.kinds import client_for
from registries.models import Registry, RegistrySpace, Repository, SpaceBinding, SyncRun, Tag

logger = logging.getLogger("wharf.sync")

BATCH_SIZE = 500
# Repositories may vanish between the listing and reading their tags; past this many (and half
# of all), the registry is misbehaving rather than busy.
VANISHED_LIMIT = 10
DEMO_REFUSAL = "Demo registries are never contacted."
ABANDONED = "Abandoned: the worker running this sync stopped before it finished."
# Messages are shown in pages and logs; a server that echoes a whole HTML page is cut short.
MAX_MESSAGE = 1000
# Shorter passwords are not scrubbed: replacing them would mangle ordinary words.
MIN_SCRUBBED_PASSWORD = 4

_SPACE_NAME_MAX = RegistrySpace._meta.get_field("name").max_length
_REPOSITORY_NAME_MAX = Repository._meta.get_field("name").max_length
_TAG_NAME_MAX = Tag._meta.get_field("name").max_length
_DIGEST_MAX = Tag._meta.get_field("digest").max_length

_SPACE_FIELDS = ["visibility", "upstream_id", "upstream_created", "missing", "repository_count"]
_REPOSITORY_FIELDS = ["description", "tag_count", "pull_count", "upstream_created", "last_push"]
_TAG_FIELDS = ["digest", "size", "pushed", "platforms"]


def sync_registry(registry: Registry, *, batch_size: int = BATCH_SIZE) -> SyncRun:
    """Sync one registry; always returns its SyncRun, never raises for a registry's failure.

    The run is ``succeeded`` or ``failed`` (with ``error``) when this returns, except when
    another sync of the same registry is in progress: then that other run is returned, still
    ``running``, and nothing was done.
    """
    if registry.is_demo:
        logger.info("Sync of registry %s refused: it is a demo registry", registry.name)
        now = timezone.now()
        return SyncRun.objects.create(
            registry=registry, result=SyncRun.Result.FAILED, error=DEMO_REFUSAL, finished=now
        )
    run, started_here = _start_run(registry)
    if not started_here:
        logger.info(
            "Sync of registry %s skipped: run %s has been running since %s",
            registry.name,
            run.pk,
            run.started.isoformat(timespec="seconds"),
        )
        return run

    logger.info("Sync of registry %s (%s) started (run %s)", registry.name, registry.kind, run.pk)
    clock = time.monotonic()
    client: RegistryClient | None = None
    progress = _Progress()
    try:
        # Background work: no request deadline, the per-call timeout only. The address rule
        # of a workspace registry holds on every connection.
        client = client_for(registry.kind, registry.connection(background=True))
        with client, transaction.atomic():
            _Sync(registry, client, run.started, batch_size, progress).run()
            storage_used = _storage_used(registry, client)
            _succeed(registry, run, progress, _requests(client), storage_used)
    except RegistryError as error:
        # The run keeps the detail (server log, Admins); the registry's status is what its
        # members read, so it says only what they may be told (registries.outbound).
        shown = outbound.shown_message(registry, error)
        _fail(
            registry,
            run,
            progress,
            _requests(client),
            _message(registry, str(error)),
            shown=_message(registry, shown),
        )
    except DecryptionError as error:
        _fail(registry, run, progress, _requests(client), _message(registry, str(error)))
    except Exception as error:
        # A bug or a database failure, not the registry's: its health is unknown, so only the
        # run and last_sync_error record it; the traceback goes to the server log.
        logger.exception("Sync of registry %s crashed", registry.name)
        message = f"Sync failed unexpectedly ({type(error).__name__}); see the server log."
        _fail(registry, run, progress, _requests(client), message, registry_fault=False)
    seconds = time.monotonic() - clock
    metrics.sync_finished(registry.name, run.result, seconds)
    if run.result == SyncRun.Result.SUCCEEDED:
        logger.info(
            "Sync of registry %s succeeded: %s spaces, %s repositories, %s tags, %s requests, %.1f s",
            registry.name,
            run.spaces,
            run.repositories,
            run.tags,
            run.requests,
            seconds,
        )
    else:
        logger.warning(
            "Sync of registry %s failed after %.1f s (%s spaces, %s repositories, %s tags read, "
            "%s requests): %s",
            registry.name,
            seconds,
            run.spaces,
            run.repositories,
            run.tags,
            run.requests,
            run.error,
        )
    return run


# -- the run record and the registry's status -------------------------------------------------


def _start_run(registry: Registry) -> tuple[SyncRun, bool]:
    with transaction.atomic():
        # The lock makes "is one running? if not, start one" a single step across workers.
        Registry.objects.select_for_update().filter(pk=registry.pk).values_list("pk").get()
        now = timezone.now()
        running = SyncRun.objects.filter(registry=registry, result=SyncRun.Result.RUNNING)
        # The same limit as for tasks (portal/taskqueue.py), so a sync task queued again after its
        # worker died finds the dead run abandoned and syncs, instead of returning that run.
        stale_after = timedelta(seconds=settings.WHARF_TASK_STALE_AFTER)
        running.filter(started__lt=now - stale_after).update(
            result=SyncRun.Result.FAILED, error=ABANDONED, finished=now
        )
        current = running.order_by("-started").first()
        if current is not None:
            return current, False
        return SyncRun.objects.create(registry=registry), True


def _storage_used(registry: Registry, client: RegistryClient) -> int | None:
    """The registry's own storage figure; a registry that will not tell does not fail the sync."""
    try:
        return client.storage_used()
    except RegistryError as error:
        logger.warning("Registry %s did not report its storage: %s", registry.name, error)
        return None


def _succeed(
    registry: Registry, run: SyncRun, progress: _Progress, requests: int, storage_used: int | None
) -> None:
    """Inside the sync's transaction, so the data and "healthy" are committed together."""
    now = timezone.now()
    status = Registry.objects.select_for_update().values_list("status", flat=True).get(pk=registry.pk)
    changes = {
        "status": Registry.Status.HEALTHY,
        "status_message": "",
        "last_sync": now,
        "last_sync_error": "",
        "storage_used": storage_used,
    }
    if status != Registry.Status.HEALTHY:
        changes["status_changed"] = now
    Registry.objects.filter(pk=registry.pk).update(**changes)
    # Counted after taking the lock, so the count includes the spaces the sync created and any
    # created meanwhile by the page (their transaction held the row until it committed).
    Registry.objects.filter(pk=registry.pk).recount_spaces()
    for name, value in changes.items():
        setattr(registry, name, value)
    _finish_run(run, SyncRun.Result.SUCCEEDED, "", progress, requests, now)


def _fail(
    registry: Registry,
    run: SyncRun,
    progress: _Progress,
    requests: int,
    message: str,
    *,
    registry_fault: bool = True,
    shown: str | None = None,
) -> None:
    """Outside the rolled-back transaction: only the status and the run change.

    ``shown`` (default: ``message``) is what the registry's status says.
    """
    now = timezone.now()
    shown = message if shown is None else shown
    changes: dict[str, object] = {"last_sync_error": shown}
    if registry_fault:
        changes.update(status=Registry.Status.UNHEALTHY, status_message=shown, status_changed=now)
    Registry.objects.filter(pk=registry.pk).update(**changes)
    for name, value in changes.items():
        setattr(registry, name, value)
    # Counts say how far the run got before failing; nothing it read was kept.
    _finish_run(run, SyncRun.Result.FAILED, message, progress, requests, now)


def _finish_run(
    run: SyncRun, result: str, error: str, progress: _Progress, requests: int, now: datetime
) -> None:
    fields = {
        "result": result,
        "error": error,
        "finished": now,
        "requests": requests,
        "spaces": progress.spaces,
        "repositories": progress.repositories,
        "tags": progress.tags,
    }
    # An update, not save(): the registry (and its runs) may have been removed meanwhile.
    SyncRun.objects.filter(pk=run.pk).update(**fields)
    for name, value in fields.items():
        setattr(run, name, value)


def _requests(client: RegistryClient | None) -> int:
    # Clients count their HTTP requests; one that does not (yet) reports 0.
    return int(getattr(client, "request_count", 0) or 0)


def _message(registry: Registry, text: str) -> str:
    try:
        password = registry.get_password()
    except DecryptionError:
        password = ""
    if len(password) >= MIN_SCRUBBED_PASSWORD:
        text = text.replace(password, "***")
    text = text.strip() or "The registry failed without saying why."
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


# -- the sync itself ----------------------------------------------------------------------------


@dataclass
class _Progress:
    spaces: int = 0
    repositories: int = 0
    tags: int = 0
    skipped: int = 0


class _Sync:
    """One run's writes; everything here happens inside the run's transaction."""

    def __init__(
        self,
        registry: Registry,
        client: RegistryClient,
        mark: datetime,
        batch_size: int,
        progress: _Progress,
    ):
        self.registry = registry
        self.client = client
        # Written into Repository.synced of every repository this run confirms.
        self.mark = mark
        self.batch_size = max(1, batch_size)
        self.progress = progress
        self.wharf_owns_visibility = not registry.kind_plugin.owns_visibility_upstream
        # Spaces Wharf creates by recording a name alone, which the registry lists only once
        # something is pushed under it.
        self.records_spaces = (
            registry.kind_plugin.creates_spaces and not registry.kind_plugin.creates_spaces_upstream
        )
        self.listed_spaces: dict[str, SpaceInfo] = {}
        self.space_ids: dict[str, int] = {}
        self.repository_counts: dict[str, int] = {}
        self.listed_repositories = 0
        self.vanished_repositories = 0

    def run(self) -> None:
        self._read_spaces()
        self._sync_repositories()
        self._update_spaces()
        self._delete_vanished_repositories()
        if self.progress.skipped:
            logger.warning(
                "Sync of registry %s skipped %s names or digests too long to store",
                self.registry.name,
                self.progress.skipped,
            )

    # -- spaces ------------------------------------------------------------------------------

    def _read_spaces(self) -> None:
        for info in self.client.iter_spaces():
            if len(info.name) > _SPACE_NAME_MAX:
                self.progress.skipped += 1
                continue
            if info.name not in self.listed_spaces:
                self.listed_spaces[info.name] = info
                self.progress.spaces += 1
        self.space_ids = dict(RegistrySpace.objects.filter(registry=self.registry).values_list("name", "id"))
        self._create_spaces(self.listed_spaces.values())

    def _create_spaces(self, infos: Iterable[SpaceInfo]) -> None:
        """Insert the spaces not in Wharf yet; the others are updated once, at the end."""
        new = [
            RegistrySpace(
                registry=self.registry,
                name=info.name,
                visibility=self._visibility(info),
                upstream_id=info.upstream_id,
                upstream_created=_aware(info.created),
            )
            for info in infos
            if info.name not in self.space_ids
        ]
        for start in range(0, len(new), self.batch_size):
            chunk = new[start : start + self.batch_size]
            RegistrySpace.objects.bulk_create(
                chunk,
                update_conflicts=True,
                unique_fields=["registry", "name"],
                update_fields=["updated"],
            )
            self._remember_ids(chunk)

    def _remember_ids(self, spaces: list[RegistrySpace]) -> None:
        if all(space.pk for space in spaces):
            self.space_ids.update((space.name, space.pk) for space in spaces)
            return
        # Databases that cannot return ids from an upsert: ask once per chunk.
        names = [space.name for space in spaces]
        self.space_ids.update(
            RegistrySpace.objects.filter(registry=self.registry, name__in=names).values_list("name", "id")
        )

    def _visibility(self, info: SpaceInfo) -> str:
        if self.wharf_owns_visibility:
            # Behind Wharf's token service the type is enforced, so a space someone just pushed
            # stays private until an Admin opens it; without it everything is public anyway,
            # unless the registry guards pulls itself (its kind starts spaces private).
            if self.registry.token_service or self.registry.kind_plugin.spaces_start_private:
                return RegistrySpace.Visibility.PRIVATE
            return RegistrySpace.Visibility.PUBLIC
        return RegistrySpace.Visibility.PUBLIC if info.public else RegistrySpace.Visibility.PRIVATE

    def _update_spaces(self) -> None:
        rows = RegistrySpace.objects.filter(registry=self.registry).values_list("name", *_SPACE_FIELDS)
        changed = []
        access_changed = []
        for name, *current in rows:
            visibility, upstream_id, upstream_created, missing, count = current
            info = self.listed_spaces.get(name)
            if info is not None:
                if not self.wharf_owns_visibility:
                    visibility = self._visibility(info)
                upstream_id = info.upstream_id or upstream_id
                upstream_created = _aware(info.created) or upstream_created
                missing, count = False, self.repository_counts.get(name, 0)
            elif name in self.repository_counts:
                # Created on the fly for a repository whose space was not listed (pushed
                # between the two listings): it exists.
                missing, count = False, self.repository_counts[name]
            elif self.records_spaces and not missing and not count:
                # Made in Wharf, nothing pushed yet: it never existed upstream to go missing.
                continue
            else:
                missing, count = True, 0
            target = [visibility, upstream_id, upstream_created, missing, count]
            if (visibility, missing) != (current[0], current[3]):
                access_changed.append(name)
            if target != current:
                changed.append(
                    RegistrySpace(
                        registry=self.registry,
                        name=name,
                        **dict(zip(_SPACE_FIELDS, target, strict=True)),
                    )
                )
        update_fields = [
            field for field in _SPACE_FIELDS if not (self.wharf_owns_visibility and field == "visibility")
        ]
        RegistrySpace.objects.bulk_create(
            changed,
            batch_size=self.batch_size,
            update_conflicts=True,
            unique_fields=["registry", "name"],
            update_fields=[*update_fields, "updated"],
        )
        if access_changed:
            # A project turned public/private or vanished upstream: the robots of the
            # workspaces bound to it follow once this sync commits.
            bound = SpaceBinding.objects.filter(
                space__registry=self.registry, space__name__in=access_changed
            ).values_list("workspace_id", flat=True)
            robots.changed(self.registry, list(bound), may_grant=True)

    def _ensure_spaces(self, names: set[str]) -> None:
        unknown = names - self.space_ids.keys()
        if unknown:
            # Harbor projects created after the project listing are private until the next
            # sync says otherwise: never show more than was shown.
            self._create_spaces(SpaceInfo(name=name, public=False) for name in sorted(unknown))

    # -- repositories and tags ---------------------------------------------------------------

    def _sync_repositories(self) -> None:
        batch: dict[str, RepositoryInfo] = {}
        for info in self.client.iter_repositories(None):
            if len(info.name) > _REPOSITORY_NAME_MAX or len(info.space) > _SPACE_NAME_MAX:
                self.progress.skipped += 1
                continue
            # Offset pagination can repeat an item when the registry changes mid-listing.
            batch.setdefault(info.name, info)
            if len(batch) >= self.batch_size:
                self._repository_batch(list(batch.values()))
                batch = {}
        if batch:
            self._repository_batch(list(batch.values()))
        vanished, listed = self.vanished_repositories, self.listed_repositories
        if vanished >= max(VANISHED_LIMIT, listed / 2):
            # A few repositories deleted mid-sync is normal; most of them is a broken server
            # (or proxy), and believing it would empty the cache.
            raise BadAnswer(
                f"The registry answered 'not found' for {vanished} of the {listed} repositories "
                "it had just listed; nothing was changed."
            )

    def _repository_batch(self, infos: list[RepositoryInfo]) -> None:
        # The network part first, so the batch's reads and writes are close together.
        fetched = self._fetch_tags(infos)
        if not fetched:
            return
        self._ensure_spaces({info.space for info, _ in fetched})
        existing = self._existing_repositories(fetched)
        old_tags = self._existing_tags(existing)
        repository_ids = self._write_repositories(fetched, existing)
        self._write_tags(fetched, repository_ids, old_tags)
        # What is left of the old tags was not listed again: deleted upstream.
        self._delete_tags([pk for pk, _ in old_tags.values()])

    def _fetch_tags(self, infos: list[RepositoryInfo]) -> list[tuple[RepositoryInfo, list[TagInfo]]]:
        """Each repository with its tags, leaving out (and counting) those that vanished."""
        fetched: list[tuple[RepositoryInfo, list[TagInfo]]] = []
        for info in infos:
            self.listed_repositories += 1
            tags = self._read_tags(info.name)
            if tags is None:
                self.vanished_repositories += 1
                continue
            fetched.append((info, tags))
            self.progress.repositories += 1
            self.progress.tags += len(tags)
            self.repository_counts[info.space] = self.repository_counts.get(info.space, 0) + 1
        return fetched

    def _existing_repositories(
        self, fetched: list[tuple[RepositoryInfo, list[TagInfo]]]
    ) -> dict[tuple[int, str], tuple[int, list]]:
        """(space id, name) -> (id, stored values) of the batch's repositories Wharf has."""
        return {
            (space_id, name): (pk, values)
            for pk, space_id, name, *values in Repository.objects.filter(
                space_id__in={self.space_ids[info.space] for info, _ in fetched},
                name__in=[info.name for info, _ in fetched],
            ).values_list("id", "space_id", "name", *_REPOSITORY_FIELDS)
        }

    def _existing_tags(
        self, existing: dict[tuple[int, str], tuple[int, list]]
    ) -> dict[tuple[int, str], tuple[int, list]]:
        """(repository id, name) -> (id, stored values) of those repositories' tags."""
        return {
            (repository_id, name): (pk, values)
            for pk, repository_id, name, *values in Tag.objects.filter(
                repository_id__in=[pk for pk, _ in existing.values()]
            ).values_list("id", "repository_id", "name", *_TAG_FIELDS)
        }

    def _write_repositories(
        self,
        fetched: list[tuple[RepositoryInfo, list[TagInfo]]],
        existing: dict[tuple[int, str], tuple[int, list]],
    ) -> dict[tuple[int, str], int]:
        """Upsert the repositories that changed, mark the others synced; their ids by key."""
        unchanged_ids: list[int] = []
        written: list[Repository] = []
        for info, tags in fetched:
            space_id = self.space_ids[info.space]
            pk, current = existing.get((space_id, info.name), (None, None))
            target = _repository_values(info, tags, current)
            if current is not None and target == current:
                unchanged_ids.append(pk)
                continue
            written.append(
                Repository(
                    space_id=space_id,
                    name=info.name,
                    synced=self.mark,
                    **dict(zip(_REPOSITORY_FIELDS, target, strict=True)),
                )
            )
        if written:
            Repository.objects.bulk_create(
                written,
                update_conflicts=True,
                unique_fields=["space", "name"],
                update_fields=[*_REPOSITORY_FIELDS, "synced"],
            )
        if unchanged_ids:
            Repository.objects.filter(id__in=unchanged_ids).update(synced=self.mark)
        return self._repository_ids(written, existing)

    def _write_tags(
        self,
        fetched: list[tuple[RepositoryInfo, list[TagInfo]]],
        repository_ids: dict[tuple[int, str], int],
        old_tags: dict[tuple[int, str], tuple[int, list]],
    ) -> None:
        """Upsert the tags that are new or changed; the ones seen again leave ``old_tags``."""
        new_tags: list[Tag] = []
        for info, tags in fetched:
            repository_id = repository_ids[(self.space_ids[info.space], info.name)]
            for tag in tags:
                values = [tag.digest, tag.size, tag.pushed, list(tag.platforms)]
                pk, current = old_tags.pop((repository_id, tag.name), (None, None))
                if current != values:
                    new_tags.append(
                        Tag(
                            repository_id=repository_id,
                            name=tag.name,
                            **dict(zip(_TAG_FIELDS, values, strict=True)),
                        )
                    )
        Tag.objects.bulk_create(
            new_tags,
            batch_size=self.batch_size,
            update_conflicts=True,
            unique_fields=["repository", "name"],
            update_fields=_TAG_FIELDS,
        )

    def _delete_tags(self, ids: list[int]) -> None:
        for start in range(0, len(ids), self.batch_size):
            Tag.objects.filter(id__in=ids[start : start + self.batch_size]).delete()

    def _read_tags(self, repository: str) -> list[TagInfo] | None:
        """One repository's tags, deduplicated, or None when it vanished since the listing."""
        tags: dict[str, TagInfo] = {}
        try:
            for tag in self.client.iter_tags(repository):
                if len(tag.name) > _TAG_NAME_MAX or len(tag.digest) > _DIGEST_MAX:
                    self.progress.skipped += 1
                    continue
                tags.setdefault(
                    tag.name,
                    TagInfo(tag.name, tag.digest, tag.size, _aware(tag.pushed), tag.platforms),
                )
        except NotFound:
            # Deleted between the listing and now: as good as not listed.
            logger.info(
                "Sync of registry %s: repository %s vanished while syncing", self.registry.name, repository
            )
            return None
        return list(tags.values())

    def _repository_ids(
        self, written: list[Repository], existing: dict[tuple[int, str], tuple[int, list]]
    ) -> dict[tuple[int, str], int]:
        ids = {key: pk for key, (pk, _) in existing.items()}
        missing = []
        for repository in written:
            if repository.pk:
                ids[(repository.space_id, repository.name)] = repository.pk
            elif (repository.space_id, repository.name) not in ids:
                missing.append(repository.name)
        if missing:
            # Databases that cannot return ids from an upsert: ask once per batch.
            ids.update(
                ((space_id, name), pk)
                for pk, space_id, name in Repository.objects.filter(
                    space__registry=self.registry, name__in=missing
                ).values_list("id", "space_id", "name")
            )
        return ids

    def _delete_vanished_repositories(self) -> None:
        """Repositories this complete listing did not confirm; their tags go with them."""
        vanished = Repository.objects.in_registry(self.registry).filter(
            Q(synced__isnull=True) | ~Q(synced=self.mark)
        )
        while True:
            ids = list(vanished.order_by("id").values_list("id", flat=True)[: self.batch_size])
            if not ids:
                return
            Repository.objects.filter(id__in=ids).delete()


def _repository_values(info: RepositoryInfo, tags: list[TagInfo], current: list | None) -> list:
    """The values of _REPOSITORY_FIELDS the listing gives for a repository, ``current`` the
    stored ones (None for a new repository)."""
    pushed = [tag.pushed for tag in tags if tag.pushed is not None]
    # Distribution knows no pull counts or creation times: keep what Wharf has.
    pull_count = info.pull_count
    if pull_count is None:
        pull_count = current[2] if current else 0
    return [
        info.description,
        len(tags),
        pull_count,
        _aware(info.created) or (current[3] if current else None),
        max(pushed) if pushed else _aware(info.updated),
    ]


def _aware(moment: datetime | None) -> datetime | None:
    """Times without a zone are UTC (Wharf stores aware times only)."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
