import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from huey.consumer_options import ConsumerConfig

from parta.commands import OFFLINE_CHECKS
from parta.jobs import runner


class Command(BaseCommand):
    help = (
        "Исполнитель фоновых задач (huey) для развёртывания на нескольких серверах: "
        "еженедельные сводки и другие задачи. Без REDIS_URL его запускает `parta serve`."
    )
    requires_system_checks = OFFLINE_CHECKS

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            default=settings.PARTA_JOBS_WORKERS,
            help="потоков-исполнителей (по умолчанию PARTA_JOBS_WORKERS или 2)",
        )
        parser.add_argument(
            "--no-periodic",
            action="store_true",
            help="не планировать периодические задачи (их планирует другой исполнитель)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1.")
        config = ConsumerConfig(
            workers=options["workers"],
            worker_type="thread",
            periodic=not options["no_periodic"],
            extra_locks=runner.LOCKS,
        )
        config.validate()
        logger = logging.getLogger("huey")
        if not logger.handlers:
            config.setup_logger(logger)
        self.stdout.write(
            f"Parta jobs: {runner.HUEY.__class__.__name__} «{runner.HUEY.name}», "
            f"{options['workers']} worker(s), periodic {'off' if options['no_periodic'] else 'on'}"
        )
        runner.HUEY.create_consumer(**config.values).run()
