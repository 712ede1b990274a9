from contextlib import ExitStack
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from parta.commands import OFFLINE_CHECKS
from parta.exchange.exporter import TextOut, export_activity
from parta.monitoring.scopes import ScopeError, resolve_scope
from parta.structure.models import Organization


class Command(BaseCommand):
    help = "Выгрузка истории активности в JSON Lines (формат activity-jsonl)."
    requires_system_checks = OFFLINE_CHECKS

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="куда писать: файл .jsonl или «-» для стандартного вывода")
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--region", help="внешний id (или номер) региона")
        where.add_argument("--district", help="внешний id (или номер) района")
        where.add_argument("--org", help="внешний id (или номер) организации")

    def handle(self, *args: Any, **options: Any) -> None:
        organizations = None
        if options["region"] or options["district"] or options["org"]:
            try:
                scope = resolve_scope(
                    region=options["region"],
                    district=options["district"],
                    org=options["org"],
                    kinds=",".join(Organization.Kind.values),
                )
            except ScopeError as exc:
                raise CommandError(str(exc)) from exc
            organizations = scope.organizations()
        path = options["file"]
        with ExitStack() as stack:
            out: TextOut
            if path == "-":
                self.stdout.ending = ""
                out = self.stdout
            else:
                try:
                    out = stack.enter_context(open(path, "w", encoding="utf-8", newline="\n"))
                except OSError as exc:
                    raise CommandError(f"{path}: {exc.strerror}") from exc
            counts = export_activity(out, organizations)
        self.stderr.write(", ".join(f"{name}: {n}" for name, n in counts.items()) or "пусто")
