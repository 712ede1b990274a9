from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from parta.calls.selectors import calls_with_stale_held
from parta.calls.services import refresh_held
from parta.commands import OFFLINE_CHECKS
from parta.monitoring import tallies


class Command(BaseCommand):
    help = (
        "Check the counts that reports read instead of the raw records: the weekly message "
        "tallies against a recount of every message, and each call's stored held moment "
        "against its stays. Exits with an error when any differs; --repair stores them again."
    )
    requires_system_checks = OFFLINE_CHECKS

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repair", action="store_true", help="store the recounted values")

    def handle(self, *args: Any, repair: bool, **options: Any) -> None:
        stored, recounted = tallies.stored(), tallies.recount()
        stale_tallies = sum(
            1 for key in stored.keys() | recounted.keys() if stored[key] != recounted[key]
        )
        stale_calls = list(calls_with_stale_held().values_list("pk", flat=True))
        if repair and (stale_tallies or stale_calls):
            with transaction.atomic():
                if stale_tallies:
                    tallies.rebuild()
                refresh_held(stale_calls)
            self.stdout.write(f"repaired: {stale_tallies} weekly tallies, {len(stale_calls)} calls")
            return
        if stale_tallies or stale_calls:
            raise CommandError(
                f"differ from the records: {stale_tallies} weekly tallies "
                f"(organization, person, week), {len(stale_calls)} calls' held moments; "
                "run `parta check-counts --repair`"
            )
        self.stdout.write(f"all counts agree: {len(recounted)} weekly tallies, calls' held moments")
