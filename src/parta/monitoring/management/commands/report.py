from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from parta.commands import OFFLINE_CHECKS
from parta.monitoring.exports import RENDERERS
from parta.monitoring.scopes import ScopeError
from parta.monitoring.services import open_report
from parta.monitoring.weeks import WeekError


class Command(BaseCommand):
    help = "Еженедельный отчёт о показателях активности (JSON, CSV или XLSX)."
    requires_system_checks = OFFLINE_CHECKS

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--week", help="ISO-неделя, например 2026-W48 (по умолчанию последняя закрытая)"
        )
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--region", help="внешний id (или номер) региона")
        where.add_argument("--district", help="внешний id (или номер) района")
        where.add_argument("--org", help="внешний id (или номер) организации")
        parser.add_argument("--kinds", help="виды организаций через запятую (по умолчанию school)")
        parser.add_argument("--format", choices=sorted(RENDERERS), default="json")
        parser.add_argument("--output", help="куда записать (по умолчанию — на экран)")

    def handle(self, *args: Any, **options: Any) -> None:
        fmt = options["format"]
        if fmt == "xlsx" and not options["output"]:
            raise CommandError("XLSX — двоичный файл: укажите --output ФАЙЛ.xlsx")
        try:
            report = open_report(
                None,
                channel="cli",
                week=options["week"],
                region=options["region"],
                district=options["district"],
                org=options["org"],
                kinds=options["kinds"],
            )
        except (ScopeError, WeekError) as exc:
            raise CommandError(str(exc)) from exc
        rendered = RENDERERS[fmt](report)
        if options["output"]:
            path = Path(options["output"])
            path.write_bytes(rendered if isinstance(rendered, bytes) else rendered.encode("utf-8"))
            self.stderr.write(f"{report.week}: {len(report.organizations)} организаций → {path}")
        elif isinstance(rendered, str):
            self.stdout.write(rendered, ending="")
