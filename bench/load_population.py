"""The population of bench/load.py on a Parta database, made through Parta's own services.

    DJANGO_SETTINGS_MODULE=parta.settings [DATABASE_URL=...] python bench/load_population.py \
        --people 4000 --out bench/out/population-embedded.json

Run after `parta migrate`, with the same environment as the server it is for. It makes one
school (region and district as `parta seed-demo` makes them: rows, since Parta has no
service that founds an organization — that is the operator's back office), then people with
`accounts.services.create_person` and `grant_role`: the first 40 teachers, the rest
students; a 30-member staff chat of the first 30 (`messaging.services.create_conversation`,
created by person 0) and a 500-member school channel owned by person 0.

Sessions: for each person a browser session is started by `accounts.signin.start_session`,
the very function the sign-in API (`POST /api/accounts/sign-in/verify`) calls once the SMS
code is right; the session key is what the server's cookie would carry. Signing 4,000
people in over HTTP would need 4,000 SMS codes and is limited by design (20 codes per client
address an hour, 3 per phone in 10 minutes): raising those limits for the benchmark would
measure nothing the live path does. The load generator then uses the sessions exactly as a
browser does: the `sessionid` cookie on every request and on the WebSocket handshake, and a
CSRF token fetched from `GET /api/accounts/sign-in/csrf` for its POSTs.

Writes {"school", "chat30", "channel500", "people": [{"id", "session"}, ...]} as JSON.
"""

import argparse
import json
import os
import sys
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parta.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from parta.accounts.models import Role  # noqa: E402
from parta.accounts.services import create_person, grant_role  # noqa: E402
from parta.accounts.signin import start_session  # noqa: E402
from parta.messaging.models import Conversation  # noqa: E402
from parta.messaging.services import create_conversation  # noqa: E402
from parta.structure.models import District, Organization, Region  # noqa: E402

TEACHERS = 40
CHAT_MEMBERS = 30
CHANNEL_MEMBERS = 500


def school() -> Organization:
    region = Region.objects.create(name="Бенчмарк-край", code="99", time_zone="Europe/Moscow")
    district = District.objects.create(region=region, name="Бенчмарк-район")
    return Organization.objects.create(
        district=district,
        kind=Organization.Kind.SCHOOL,
        full_name="МБОУ «Школа нагрузочного теста»",
        short_name="Школа нагрузки",
    )


def session_key(person: object) -> str:
    request = RequestFactory().post("/api/accounts/sign-in/verify")
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    request.user = AnonymousUser()
    start_session(request, person)  # type: ignore[arg-type]
    request.session.save()
    return str(request.session.session_key)


def populate(count: int) -> dict[str, object]:
    count = max(count, CHANNEL_MEMBERS)
    with transaction.atomic():
        organization = school()
        people = []
        for number in range(count):
            person = create_person(
                surname=f"Нагрузкин-{number}", name="Тест", phone=f"+7999{number:07d}"
            )
            grant_role(person, organization, Role.TEACHER if number < TEACHERS else Role.STUDENT)
            people.append(person)
        chat = create_conversation(
            people[0],
            organization,
            title="Учительская (нагрузка)",
            kind=Conversation.Kind.CHAT,
            purpose=Conversation.Purpose.STAFF,
            members=people[1:CHAT_MEMBERS],
        )
        channel = create_conversation(
            people[0],
            organization,
            title="Школьный канал (нагрузка)",
            kind=Conversation.Kind.CHANNEL,
            purpose=Conversation.Purpose.INFO,
            members=people[1:CHANNEL_MEMBERS],
        )
    sessions = [{"id": person.pk, "session": session_key(person)} for person in people]
    return {
        "school": organization.pk,
        "chat30": chat.pk,
        "channel500": channel.pk,
        "people": sessions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.write_text(json.dumps(populate(args.people)))


if __name__ == "__main__":
    main()
