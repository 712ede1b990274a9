from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from parta.commands import OFFLINE_CHECKS
from parta.realtime.services import EVENTS_KEPT_DAYS, prune_events


class Command(BaseCommand):
    help = (
        "Delete realtime events older than --days (30 by default); the job runner does this "
        "daily. "
        "A tab that comes back from before the oldest kept event is told to reload."
    )
    requires_system_checks = OFFLINE_CHECKS

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=EVENTS_KEPT_DAYS)

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days < 1:
            raise CommandError("--days must be at least 1.")
        deleted = prune_events(timezone.now() - timedelta(days=days))
        self.stdout.write(f"Удалено событий / events deleted: {deleted}")
