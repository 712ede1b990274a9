from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from parta.accounts.models import Person
from parta.accounts.phones import normalize_phone
from parta.commands import OFFLINE_CHECKS
from parta.roster import services
from parta.structure.models import Organization


class Command(BaseCommand):
    help = (
        "Загрузка списка школы (XLSX или CSV) от имени её администратора: показывает план и "
        "строки с ошибками; с --confirm применяет его одной транзакцией."
    )
    requires_system_checks = OFFLINE_CHECKS

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--org", type=int, required=True, help="id организации")
        parser.add_argument("--as", dest="admin", required=True, help="телефон администратора")
        parser.add_argument("--create-classes", action="store_true")
        parser.add_argument("--confirm", action="store_true", help="применить план")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            content = path.read_bytes()
            organization = Organization.objects.select_related("district__region").get(
                pk=options["org"]
            )
            admin = Person.objects.get(phone=normalize_phone(options["admin"]))
            roster_import = services.upload_roster(
                organization,
                path.name,
                content,
                by=admin,
                create_classes=options["create_classes"],
            )
            plan = services.preview(roster_import)
            for bad in plan.bad_rows:
                self.stderr.write(f"строка {bad.number}: {bad.reason}")
            summary = plan.summary()
            self.stdout.write(" ".join(f"{key}={value}" for key, value in summary.items()))
            if options["confirm"]:
                services.confirm_roster(roster_import, by=admin, digest=plan.digest())
                self.stdout.write(f"загружено: загрузка №{roster_import.pk}")
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from exc
        except (Organization.DoesNotExist, Person.DoesNotExist) as exc:
            raise CommandError("нет такой организации или администратора") from exc
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc
