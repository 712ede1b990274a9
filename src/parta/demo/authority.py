"""The authority's own profile in the demo: the letter's «Первый чат» and «Учительская»,
where every head (a teacher of the authority) finds instructions, and one letter to heads."""

from datetime import datetime, timedelta

from django.db import transaction

from parta.accounts.models import Person, Role
from parta.accounts.selectors import role_grants_held_at
from parta.messaging.letters import letters_channel, post_letter_to_heads
from parta.messaging.models import Conversation
from parta.messaging.services import create_conversation, send_message
from parta.structure.models import Organization

CHATS = (
    (
        "Первый чат",
        (
            "Коллеги, здесь собраны инструкции по работе в «Парте»: как заполнить профиль "
            "школы, создать классы и пригласить учителей по ссылкам.",
            "Пожалуйста, не размещайте ссылки-приглашения в открытом доступе — отправляйте их "
            "коллегам лично: в SMS, на личную почту или в закрытом чате.",
        ),
    ),
    (
        "Учительская",
        (
            "Запись вебинара «Первые шаги в Парте» для руководителей выложена в канале "
            "управления; посмотрите её до пятницы.",
            "Напоминаем: еженедельная выгрузка показывает по каждой школе, сколько учителей "
            "создали чат, написали 3 и 10 сообщений и провели звонки.",
        ),
    ),
)


@transaction.atomic
def seed_authority_profile(authority: Organization, year_starts: datetime) -> None:
    """Idempotent: a second run finds the chats and the letter and adds nothing.
    `year_starts`: DemoYear.starts, when the authority's people took their roles."""
    official = (
        Person.objects.filter(
            pk__in=role_grants_held_at([authority.pk], [Role.ADMIN], year_starts).values(
                "person_id"
            )
        )
        .order_by("pk")
        .first()
    )
    if official is None or letters_channel(authority) is not None:
        return
    heads = list(
        Person.objects.filter(
            pk__in=role_grants_held_at([authority.pk], [Role.TEACHER], year_starts).values(
                "person_id"
            )
        )
    )
    moment = year_starts + timedelta(days=1, hours=10)
    for title, texts in CHATS:
        chat = create_conversation(
            official,
            authority,
            title=title,
            purpose=Conversation.Purpose.STAFF,
            members=heads,
            at=moment,
        )
        for n, text in enumerate(texts):
            send_message(official, chat, text, at=moment + timedelta(minutes=5 * (n + 1)))
    post_letter_to_heads(
        official,
        authority,
        subject="Об активизации работы образовательных организаций",
        text=(
            "Уважаемые руководители! Просим изучить инструкции в «Первом чате», создать чаты "
            "и провести звонки с учителями. Показатели активности смотрите в разделе «Показатели»."
        ),
        at=moment + timedelta(days=1),
    )
