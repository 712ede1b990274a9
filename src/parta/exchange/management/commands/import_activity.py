import os
import sys
from contextlib import ExitStack
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from parta.commands import OFFLINE_CHECKS
from parta.exchange.importer import InitialLoadRefused, import_activity
from parta.exchange.reader import ExchangeError


class Command(BaseCommand):
    help = (
        "Импорт истории активности из JSON Lines (формат activity-jsonl): всё или ничего; "
        "повторный импорт того же файла ничего не меняет."
    )
    requires_system_checks = OFFLINE_CHECKS

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="файл .jsonl или «-» для стандартного ввода")
        parser.add_argument("--quiet", action="store_true", help="без индикатора хода")
        parser.add_argument(
            "--initial-load",
            action="store_true",
            help=(
                "первичная загрузка истории в новую установку (в базе нет сообщений): "
                "на PostgreSQL внешние ключи сообщений проверяются разом в конце — быстрее, "
                "но всё приложение ждёт окончания импорта"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        with ExitStack() as stack:
            stream: IO[bytes]
            if path == "-":
                stream = sys.stdin.buffer
            else:
                try:
                    stream = stack.enter_context(open(path, "rb"))
                except OSError as exc:
                    raise CommandError(f"{path}: {exc.strerror}") from exc
            size = os.fstat(stream.fileno()).st_size if path != "-" else None
            bar = stack.enter_context(
                tqdm(
                    total=size,
                    unit="B",
                    unit_scale=True,
                    file=sys.stderr,
                    desc=path,
                    disable=options["quiet"] or not sys.stderr.isatty(),
                )
            )
            try:
                summary = import_activity(
                    stream,
                    source=path,
                    progress=bar.update,
                    initial_load=options["initial_load"],
                )
            except ExchangeError as exc:
                raise CommandError(f"{path}: {exc}. Ничего не сохранено.") from exc
            except InitialLoadRefused as exc:
                raise CommandError(str(exc)) from exc
        for type_name in sorted(summary.created.keys() | summary.unchanged.keys()):
            self.stdout.write(
                f"{type_name}: новых {summary.created[type_name]}, "
                f"уже было {summary.unchanged[type_name]}"
            )
