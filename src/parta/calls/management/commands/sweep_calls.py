from typing import Any

from django.core.management.base import BaseCommand

from parta.calls.services import sweep_calls
from parta.commands import OFFLINE_CHECKS


class Command(BaseCommand):
    help = (
        "Close call stays whose tab fell silent (no heartbeat for PARTA_CALL_HEARTBEAT_TIMEOUT "
        "seconds) at their last heartbeat, and end calls left empty. The job runner does this "
        "every minute and the call sockets while their process lives; this is for checks."
    )
    requires_system_checks = OFFLINE_CHECKS

    def handle(self, *args: Any, **options: Any) -> None:
        sweep = sweep_calls()
        self.stdout.write(f"stays closed: {sweep.stays_closed}, calls ended: {sweep.calls_ended}")
