"""Importing a school's list of people: a realistic school (1,750) and a district (40,000).

    python bench/roster_import.py --people 1750 [--database-url postgres://…]

On a new database (a temporary SQLite one unless DATABASE_URL is given; it is migrated
first) it makes a school and its admin, writes a CSV as an e-journal gives it — per 1,750
people 600 students in 24 classes, 1,100 parents (both parents of most children, each with
a phone) and 50 teachers — and times the steps an admin takes through
`parta.roster.services`: upload (reading the file), preview (planning it against the
school's records), confirm (one transaction: people, invitations), and the same file again
(a preview that finds nothing to change). The district's 40,000 go into one school: the
largest single transaction an operator's `parta import-roster` can be asked for.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parta.settings")
os.environ.setdefault("PARTA_ALLOW_DEV_SECRET", "1")
if "DATABASE_URL" not in os.environ:
    os.environ["PARTA_DATA_DIR"] = tempfile.mkdtemp(prefix="parta-roster-bench-")

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from parta.accounts.models import Person, Role  # noqa: E402
from parta.accounts.services import create_person, grant_role  # noqa: E402
from parta.demo.names import _FATHERS, _FEMALE_NAMES, _MALE_NAMES, _SURNAMES  # noqa: E402
from parta.invites.models import PersonalInvitation  # noqa: E402
from parta.roster import services  # noqa: E402
from parta.structure.models import District, Organization, Region  # noqa: E402

T = TypeVar("T")
LETTERS = "АБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЭЮЯ"


def roster_csv(people: int, seed: int = 1) -> bytes:
    """Students, parents and teachers in the 600 : 1,100 : 50 proportion of a real school."""
    rng = random.Random(seed)
    students = people * 600 // 1750
    teachers = max(1, people * 50 // 1750)
    parents = people - students - teachers
    # 25 to a class, as in a real school, while 11 grades × 27 letters last; a district's
    # file into one school then has larger classes.
    per_class = max(25, -(-students // (11 * len(LETTERS))))
    phones = iter(range(1_000_000, 10_000_000))
    lines = ["Класс;Фамилия;Имя;Отчество;Роль;Телефон;Ребёнок"]
    taken: set[tuple[str, str]] = set()
    parents_left = parents
    for index in range(students):
        class_index = index // per_class
        school_class = f"{1 + class_index % 11}{LETTERS[class_index // 11]}"
        while True:
            surname = rng.choice(_SURNAMES)
            father, male, female = rng.choice(_FATHERS)
            boy = rng.random() < 0.5
            name = rng.choice(_MALE_NAMES if boy else _FEMALE_NAMES)
            child = " ".join((surname if boy else surname + "а", name, male if boy else female))
            if (school_class, child) not in taken:
                taken.add((school_class, child))
                break
        lines.append(f"{school_class};{';'.join(child.split())};ученик;;")
        for parent in (f"{surname}а;{rng.choice(_FEMALE_NAMES)};", f"{surname};{father};")[
            : min(2, parents_left)
        ]:
            parents_left -= 1
            lines.append(
                f"{school_class};{parent}{rng.choice(_FATHERS)[1]};родитель;+7913{next(phones)};{child}"
            )
    for _index in range(teachers):
        lines.append(
            f";{rng.choice(_SURNAMES)}а;{rng.choice(_FEMALE_NAMES)};"
            f"{rng.choice(_FATHERS)[2]};учитель;+7913{next(phones)};"
        )
    return "\n".join(lines).encode()


def timed(label: str, step: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = step()
    print(f"{label}: {time.perf_counter() - start:.2f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=1750)
    options = parser.parse_args()
    call_command("migrate", verbosity=0)
    region = Region.objects.create(name="Красноярский край", time_zone="Asia/Krasnoyarsk")
    district = District.objects.create(region=region, name="Мотыгинский район")
    school = Organization.objects.create(district=district, full_name="МБОУ СОШ №1 (бенчмарк)")
    admin = create_person(
        surname="Сидорова", name="Елена", phone=f"+7999{random.randrange(10**7):07d}"
    )
    grant_role(admin, school, Role.ADMIN)
    content = roster_csv(options.people)
    rows = content.count(b"\n")
    database = os.environ.get("DATABASE_URL", "SQLite")
    print(f"{rows} rows, {len(content) / 2**20:.1f} MB CSV, {database}")
    started = time.perf_counter()
    roster_import = timed(
        "upload",
        lambda: services.upload_roster(
            school, "список.csv", content, by=admin, create_classes=True
        ),
    )
    plan = timed("preview", lambda: services.preview(roster_import))
    if plan.bad_rows:
        raise SystemExit(f"bad rows: {plan.bad_rows[:5]}")
    timed("confirm", lambda: services.confirm_roster(roster_import, by=admin, digest=plan.digest()))
    print(f"total: {time.perf_counter() - started:.2f} s")
    again = services.upload_roster(school, "список.csv", content, by=admin, create_classes=True)
    second = timed("the same file again: preview", lambda: services.preview(again))
    if second.has_changes or second.bad_rows:
        raise SystemExit(f"the same file again would change something: {second.bad_rows[:3]}")
    print(f"people {Person.objects.count() - 1}, invitations {PersonalInvitation.objects.count()}")


if __name__ == "__main__":
    main()
