from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from parta.commands import OFFLINE_CHECKS
from parta.demo.activity import seed_activity
from parta.demo.authority import seed_authority_profile
from parta.demo.calls import seed_calls
from parta.demo.services import demo_sign_ins, seed_demo


class Command(BaseCommand):
    help = (
        "Build the demo district (Мотыгинский район, ten schools, their people). "
        "Running it again changes nothing."
    )
    requires_system_checks = OFFLINE_CHECKS

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Seed even when DEBUG is off (the demo operator's phone is well known).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The demo makes a superuser whose phone is printed in the README: never by accident
        # on a production instance.
        if not settings.DEBUG and not options["allow_without_debug"]:
            raise CommandError(
                "seed-demo creates well-known accounts, including an operator; run it with "
                "DEBUG=1 (or pass --allow-without-debug on a throwaway instance)."
            )
        now = timezone.now()
        demo = seed_demo(now)
        seed_activity(demo.schools, now)
        seed_calls(demo.schools, now)
        seed_authority_profile(demo.authority, demo.year.starts)
        self.stdout.write(
            self.style.SUCCESS(
                f"Демо-район готов: {demo.district} ({demo.region}), "
                f"{len(demo.schools)} школ и {demo.authority}."
            )
        )
        self.stdout.write("\nВход по номеру телефона / sign in with a phone number:")
        for sign_in in demo_sign_ins():
            self.stdout.write(
                f"  {sign_in.phone}  {sign_in.who} — {sign_in.person}, {sign_in.organization}"
            )
        if settings.PARTA_SMS_BACKEND.endswith("ConsoleSmsBackend"):
            self.stdout.write(
                "\nКод из SMS печатается в консоли сервера / "
                "the SMS code is printed on the server console."
            )
