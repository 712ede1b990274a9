"""Small builders for test data: a district, organizations, people in each role."""

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from django.test import Client

from parta.accounts.models import Person
from parta.accounts.services import grant_role
from parta.structure.models import District, Organization, Region, SchoolClass

KRASNOYARSK = ZoneInfo("Asia/Krasnoyarsk")
_counter = itertools.count(1)


def local(text: str, zone: ZoneInfo = KRASNOYARSK) -> datetime:
    """«2026-11-16 09:00» in Krasnoyarsk time, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def client_for(person: Person | None = None) -> Client:
    """A test client signed in as `person` (None: nobody)."""
    client = Client()
    if person is not None:
        client.force_login(person)
    return client


def make_region(name: str = "Красноярский край", tz: str = "Asia/Krasnoyarsk") -> Region:
    return Region.objects.create(name=name, code=str(next(_counter)), time_zone=tz)


def make_district(region: Region | None = None, name: str = "Мотыгинский район") -> District:
    return District.objects.create(region=region or make_region(), name=name)


def make_org(
    district: District | None = None,
    name: str | None = None,
    kind: str = Organization.Kind.SCHOOL,
    **fields: object,
) -> Organization:
    return Organization.objects.create(
        district=district or make_district(),
        full_name=name or f"МБОУ СОШ №{next(_counter)}",
        kind=kind,
        **fields,
    )


def make_person(name: str = "Иванова Анна Петровна", phone: str | None = None) -> Person:
    surname, first, patronymic = Person.split_full_name(name)
    if phone is None:
        phone = f"+7913{next(_counter):07d}"
    return Person.objects.create_user(phone, surname=surname, name=first, patronymic=patronymic)


def make_member(
    org: Organization,
    role: str,
    name: str = "Смирнова Елена Викторовна",
    since: datetime | None = None,
    until: datetime | None = None,
) -> Person:
    person = make_person(name)
    grant_role(person, org, role, valid_from=since or local("2026-09-01 00:00"), valid_to=until)
    return person


def make_class(org: Organization, name: str = "5А", **fields: object) -> SchoolClass:
    return SchoolClass.objects.create(organization=org, name=name, **fields)
