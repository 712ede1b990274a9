from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from parta.commands import OFFLINE_CHECKS
from parta.monitoring.digests import send_due_digests


class Command(BaseCommand):
    help = (
        "Разослать еженедельные сводки, которые пора отправить (для cron и проверки); "
        "уже отправленные не повторяются."
    )
    requires_system_checks = OFFLINE_CHECKS

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            help="считать, что сейчас этот момент (ISO 8601 с часовым поясом, "
            "например 2026-11-23T07:30+07:00)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="только показать, кому ушли бы сводки"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError as exc:
                raise CommandError(f"--now: не момент времени ISO 8601: {options['now']}") from exc
            if now.tzinfo is None:
                raise CommandError("--now: укажите часовой пояс, например +07:00 или Z.")
        run = send_due_digests(now, dry_run=options["dry_run"])
        if options["dry_run"]:
            for organization, person, week in run.planned:
                self.stdout.write(f"{week}\t{organization}\t{person.full_name}")
            self.stdout.write(f"Школ: {run.schools}, сводок к отправке: {len(run.planned)}.")
            return
        self.stdout.write(
            f"Школ: {run.schools}, отправлено сводок: {run.sent}, уже были: {run.already_sent}, "
            f"писем: {run.emailed}, ошибок почты: {run.email_failures}."
        )
