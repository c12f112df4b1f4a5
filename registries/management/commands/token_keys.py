"""Manage the token service's signing keys: ``--rotate --registry NAME`` rolls a registry's own
key (giving it one if it still uses the shared key), ``--bundle --registry NAME`` prints the
certificates it must trust, ``--prune`` drops retired keys. Without ``--registry`` they act on
the shared key of registries integrated before each got its own (``--create`` makes it once)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal import audit
from registries import tokens
from registries.models import Registry


class Command(BaseCommand):
    help = "Create, rotate or show the token service's signing keys and certificate bundles."

    def add_arguments(self, parser):
        parser.add_argument(
            "--create",
            action="store_true",
            help="create the signing key (refused if one exists, unless --rotate)",
        )
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="sign with a new key; the old one stays in the bundle, retired",
        )
        parser.add_argument(
            "--bundle",
            action="store_true",
            help="print the PEM certificate bundle (the registry's rootcertbundle)",
        )
        parser.add_argument(
            "--prune", action="store_true", help="remove retired keys whose tokens have all expired"
        )
        parser.add_argument(
            "--registry",
            metavar="NAME",
            help="the Admin's Docker Registry whose own key to create, rotate or print",
        )

    def handle(self, *args, **options):
        chosen = [name for name in ("create", "rotate", "bundle", "prune") if options[name]]
        if not chosen or (len(chosen) > 1 and set(chosen) != {"create", "rotate"}):
            raise CommandError("Choose one of --create, --rotate, --bundle, --prune.")
        registry = self._registry(options["registry"]) if options["registry"] else None
        if options["bundle"]:
            bundle = tokens.certificate_bundle(registry)
            if not bundle:
                raise CommandError(
                    "No signing key yet: run manage.py token_keys --create (or --rotate --registry NAME)."
                )
            self.stdout.write(bundle, ending="")
            return
        if options["prune"]:
            removed = tokens.prune_retired_keys()
            self.stdout.write(f"Removed {removed} retired signing key(s).")
            return
        what = f"registry {registry.name}" if registry else "the shared key"
        if options["create"] and not options["rotate"]:
            with transaction.atomic():
                # Two racing --create runs could both get here; harmless, as the newest key signs
                # and the bundle carries both.
                if tokens.keys_of(registry).exists():
                    raise CommandError(
                        f"A signing key exists already for {what}; use --rotate to replace it."
                    )
                key = tokens.create_signing_key(registry)
                audit.record(
                    None,
                    "token_key.create",
                    key,
                    after={"id": key.pk, "registry": registry.name if registry else None},
                )
            self.stdout.write(
                f"Created signing key {key.pk} for {what}. Give the registry the bundle "
                f"({self._bundle_hint(registry)})."
            )
            return
        with transaction.atomic():
            old = tokens.keys_of(registry).filter(retired__isnull=True).first()
            key = tokens.rotate_signing_key(registry)
            audit.record(
                None,
                "token_key.rotate",
                key,
                before={"id": old.pk if old else None},
                after={"id": key.pk, "registry": registry.name if registry else None},
            )
        self.stdout.write(
            f"Signing key {key.pk} is active for {what}"
            + (f"; key {old.pk} is retired but stays in the bundle." if old else ".")
            + f" Registries read their rootcertbundle at start: give them the new bundle "
            f"({self._bundle_hint(registry)}) and restart them now; until then they refuse the new "
            "key's tokens."
        )

    def _registry(self, name: str) -> Registry:
        registry = Registry.objects.filter(
            name=name, kind__in=Registry.kinds_supporting("token_service"), scope=Registry.Scope.PLATFORM
        ).first()
        if registry is None:
            raise CommandError(f"No Admin Docker Registry named {name!r}.")
        return registry

    def _bundle_hint(self, registry: Registry | None) -> str:
        if registry is None:
            return "manage.py token_keys --bundle, or GET /auth/certificates.pem"
        return (
            f"manage.py token_keys --bundle --registry {registry.name}, or GET "
            f"/auth/certificates.pem?service={registry.token_service_id}"
        )
