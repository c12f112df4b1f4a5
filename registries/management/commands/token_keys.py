"""Manage the token service's signing key: ``--create`` once, ``--rotate`` later, ``--bundle``
prints the certificates registries must trust, ``--prune`` drops retired keys."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal import audit
from registries import tokens
from registries.models import TokenSigningKey


class Command(BaseCommand):
    help = "Create, rotate or show the token service's signing key and certificate bundle."

    def add_arguments(self, parser):
        parser.add_argument("--create", action="store_true",
                            help="create the signing key (refused if one exists, unless --rotate)")
        parser.add_argument("--rotate", action="store_true",
                            help="sign with a new key; the old one stays in the bundle, retired")
        parser.add_argument("--bundle", action="store_true",
                            help="print the PEM certificate bundle (the registry's rootcertbundle)")
        parser.add_argument("--prune", action="store_true",
                            help="remove retired keys whose tokens have all expired")

    def handle(self, *args, **options):
        chosen = [name for name in ("create", "rotate", "bundle", "prune") if options[name]]
        if not chosen or (len(chosen) > 1 and set(chosen) != {"create", "rotate"}):
            raise CommandError("Choose one of --create, --rotate, --bundle, --prune.")
        if options["bundle"]:
            bundle = tokens.certificate_bundle()
            if not bundle:
                raise CommandError("No signing key yet: run manage.py token_keys --create.")
            self.stdout.write(bundle, ending="")
            return
        if options["prune"]:
            removed = tokens.prune_retired_keys()
            self.stdout.write(f"Removed {removed} retired signing key(s).")
            return
        if options["create"] and not options["rotate"]:
            with transaction.atomic():
                # Two racing --create runs could both get here; harmless, as the newest key signs
                # and the bundle carries both.
                if TokenSigningKey.objects.exists():
                    raise CommandError(
                        "A signing key exists already; use --rotate to replace it.")
                key = tokens.create_signing_key()
                audit.record(None, "token_key.create", key, after={"id": key.pk})
            self.stdout.write(f"Created signing key {key.pk}. Give registries the bundle "
                              f"(manage.py token_keys --bundle, or GET /auth/certificates.pem).")
            return
        with transaction.atomic():
            old = tokens.active_signing_key()
            key = tokens.rotate_signing_key()
            audit.record(None, "token_key.rotate", key, before={"id": old.pk if old else None},
                         after={"id": key.pk})
        self.stdout.write(
            f"Signing key {key.pk} is active"
            + (f"; key {old.pk} is retired but stays in the bundle." if old else ".")
            + " Registries read their rootcertbundle at start: give them the new bundle and"
            " restart them now; until then they refuse the new key's tokens.")
