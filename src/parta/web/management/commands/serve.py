from typing import Any

import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

ASGI_APPLICATION = "parta.asgi:application"


class Command(BaseCommand):
    help = "Serve Parta (pages, API and WebSockets) with uvicorn; static files via whitenoise."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on.")
        parser.add_argument(
            "--workers", type=int, default=1, help="Worker processes (several need PostgreSQL)."
        )
        parser.add_argument(
            "--no-jobs",
            action="store_true",
            help="Do not run background jobs (digests) in this process; run `parta run-jobs`.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port, workers = options["host"], options["port"], options["workers"]
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        if not 0 < port < 65536:
            raise CommandError("--port must be between 1 and 65535.")
        if workers > 1:
            self._warn_about_single_process_parts()
        # whitenoise serves from STATIC_ROOT and, outside DEBUG, needs the manifest
        # that collectstatic writes.
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"Parta: http://{host}:{port}/ ({workers} worker(s))")
        # Embedded default: the job consumer lives in this process, the parent of any
        # uvicorn workers, so periodic jobs are scheduled once. With REDIS_URL the queue
        # is shared and `parta run-jobs` consumes it (deploy/systemd/parta-jobs.service).
        consumer = None
        if not options["no_jobs"] and not settings.REDIS_URL:
            from parta.jobs.runner import start_consumer

            consumer = start_consumer(workers=settings.PARTA_JOBS_WORKERS)
            self.stdout.write("Background jobs: in this process (--no-jobs to turn off)")
        try:
            # An import string, not the object: uvicorn starts workers by importing it.
            uvicorn.run(
                ASGI_APPLICATION,
                host=host,
                port=port,
                workers=workers,
                # The lifespan runs each worker's fan-out task (parta/realtime/fanout.py):
                # without it, events for large audiences would wait forever.
                lifespan="on",
                proxy_headers=True,
                # Events are a few hundred bytes of JSON; per-socket permessage-deflate kept a
                # zlib compressor and decompressor for every open tab (websockets' defaults:
                # 12-bit windows, memLevel 5, about 40 KiB a connection by zlib's own formula)
                # and compressed each event once per member. nginx can gzip the HTTP side.
                ws_per_message_deflate=False,
            )
        finally:
            if consumer is not None:
                consumer.stop(graceful=True)

    def _warn_about_single_process_parts(self) -> None:
        if connection.vendor == "sqlite":
            self.stderr.write(
                self.style.WARNING(
                    "SQLite is the embedded default for one process; with several workers "
                    "set DATABASE_URL to PostgreSQL."
                )
            )
        if not settings.REDIS_URL:
            self.stderr.write(
                self.style.WARNING(
                    "Without REDIS_URL each worker has its own in-memory channel layer, so live "
                    "events do not reach people connected to another worker; set REDIS_URL."
                )
            )
