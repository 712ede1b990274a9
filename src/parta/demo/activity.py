"""The demo district's last weeks of school life: chats, channels, messages and calls.

Schools differ on purpose, as in the activation letter: Мотыгинская СОШ №1 is busy,
others start late or barely, the two ООШ have not begun, so the weekly report shows
active and inactive schools side by side. Chats and calls go through the messaging
and calls services with past times; the bulk of past messages is inserted in one go
and announced through messages_written, so the indicator tallies equal the messages.
Everything comes from seeded generators: the same day gives the same district, and a
second run finds the chats already there and adds nothing.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from parta.accounts.models import Person, Role
from parta.accounts.selectors import role_grants_held_at, students_in_class
from parta.calls.services import join_call, leave_call, start_call
from parta.demo.services import WEEKS
from parta.messaging.models import Conversation, ConversationMember, Message
from parta.messaging.services import create_conversation
from parta.messaging.signals import messages_written
from parta.monitoring.weeks import Week
from parta.structure.models import Organization, SchoolClass

RANDOM_SEED = 2026
EXTERNAL_PREFIX = "demo:activity:"

# How lively each school is (0 — not started); the first weeks are quieter than the last.
LIVELINESS = {
    "s01": 1.0,
    "s02": 0.8,
    "s03": 0.6,
    "s04": 0.45,
    "s05": 0.3,
    "s06": 0.2,
    "s07": 0.12,
    "s08": 0.06,
    "s09": 0.0,
    "s10": 0.0,
}

CLASS_LINES = (
    "Домашнее задание на завтра: §{n}, упражнения {n}–{m}.",
    "Напоминаю: в пятницу контрольная работа.",
    "Завтра урок в кабинете {n}.",
    "Кто не сдал тетради — принесите, пожалуйста, до среды.",
    "Отличная работа сегодня!",
    "Прикрепляю задания к уроку, срок — понедельник.",
    "Экскурсия переносится на следующую неделю.",
)
STUDENT_LINES = (
    "Спасибо!",
    "А можно сдать в четверг?",
    "Какие упражнения задали?",
    "Я болею, пришлите задание, пожалуйста.",
    "Поняли, спасибо.",
)
PARENT_LINES = (
    "Добрый день! Родительское собрание в четверг в 18:00, кабинет {n}.",
    "Просьба сдать заявления на питание до пятницы.",
    "Напоминаю про сменную обувь.",
    "Спасибо за информацию!",
    "Принято, будем.",
)
STAFF_LINES = (
    "Коллеги, педсовет в среду в 15:00.",
    "Сдайте, пожалуйста, планы до конца недели.",
    "Методическое объединение переносится на пятницу.",
    "Прошу проверить электронный журнал.",
    "Вебинар по работе на платформе — ссылка в канале.",
)
CHANNEL_LINES = (
    "Уважаемые родители и ученики! {d} — день открытых дверей.",
    "Расписание на следующую неделю опубликовано.",
    "Поздравляем победителей муниципального этапа олимпиады!",
    "Внимание: {d} занятия начинаются в 9:00.",
)


@dataclass
class _Chat:
    conversation: Conversation
    lines: tuple[str, ...]
    writers: list[Person]  # the first one writes most
    replies: tuple[str, ...] = ()
    repliers: tuple[Person, ...] = ()


def _generator(*parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in (RANDOM_SEED, *parts)))  # noqa: S311


def _external_id(*parts: object) -> str:
    return EXTERNAL_PREFIX + ":".join(str(p) for p in parts)


def _school_moment(rng: random.Random, monday: datetime, day: int | None = None) -> datetime:
    """A moment of a school day (Mon–Sat, 8:00–20:00 local) in the week from `monday`."""
    weekday = rng.choice((0, 1, 2, 3, 4, 4, 5)) if day is None else day
    return monday + timedelta(days=weekday, hours=rng.randint(8, 19), minutes=rng.randint(0, 59))


def seed_activity(schools: dict[str, Organization], now: datetime | None = None) -> int:
    """Fill the demo schools with the last weeks' activity; returns the messages written."""
    now = now or timezone.now()
    return sum(_seed_school(key, school, now) for key, school in sorted(schools.items()))


@transaction.atomic
def _seed_school(key: str, school: Organization, now: datetime) -> int:
    level = LIVELINESS.get(key, 0.0)
    if level == 0 or Conversation.objects.filter(external_id=_external_id(key, "info")).exists():
        return 0
    zone = school.district.region.zone
    current = Week.containing(now, zone)
    mondays = [current.start(zone) - timedelta(weeks=n) for n in range(WEEKS, 0, -1)]
    # The week in progress up to now, so the school's page has today's messages too.
    mondays.append(current.start(zone))
    rng = _generator(key, "activity")
    people = _people(school, now)
    admin, head = people[Role.ADMIN][0], people["head"][0]
    teachers, staff = people[Role.TEACHER], people[Role.STAFF]
    start = mondays[0] + timedelta(hours=8)

    def create(name: str, creator: Person, at: datetime, **fields: object) -> Conversation:
        conversation = create_conversation(creator, school, at=at, **fields)  # type: ignore[arg-type]
        conversation.external_id = _external_id(key, name)
        conversation.save(update_fields=["external_id"])
        return conversation

    chats = [
        _Chat(
            create(
                "info",
                admin,
                start,
                title="Новости школы",
                kind=Conversation.Kind.CHANNEL,
                purpose=Conversation.Purpose.INFO,
                members=[*teachers, *staff, *people[Role.STUDENT], *people[Role.PARENT]],
            ),
            CHANNEL_LINES,
            [admin, head],
        ),
        _Chat(
            create(
                "staff",
                head,
                start,
                title="Учительская",
                purpose=Conversation.Purpose.STAFF,
                members=[*teachers, *staff, admin],
            ),
            STAFF_LINES,
            [head, *rng.sample(teachers, min(4, len(teachers)))],
        ),
    ]
    # Class teachers open chats with their classes (and parents) over the weeks: the
    # livelier the school, the more classes and the sooner.
    classes = list(
        SchoolClass.objects.filter(organization=school, is_staff_class=False)
        .exclude(class_teacher=None)
        .select_related("class_teacher")
        .order_by("grade", "letter")
    )
    for school_class in classes:
        if rng.random() > level:
            continue
        teacher = school_class.class_teacher
        assert teacher is not None  # noqa: S101 - excluded above
        opened = mondays[min(int(rng.random() * (1.5 - level) * WEEKS), WEEKS)] + timedelta(
            hours=rng.randint(8, 16)
        )
        students = list(students_in_class(school_class, opened))
        chats.append(
            _Chat(
                create(
                    f"class:{school_class.name}",
                    teacher,
                    opened,
                    title=f"{school_class.name} — классный чат",
                    purpose=Conversation.Purpose.CLASS,
                    school_class=school_class,
                ),
                CLASS_LINES,
                [teacher],
                STUDENT_LINES,
                tuple(students),
            )
        )
        if rng.random() < level:
            conversation = create(
                f"parents:{school_class.name}",
                teacher,
                opened + timedelta(minutes=20),
                title=f"{school_class.name} — родители",
                purpose=Conversation.Purpose.PARENTS,
                school_class=school_class,
            )
            parents = [m.person for m in conversation.members.exclude(person=teacher)]
            chats.append(_Chat(conversation, PARENT_LINES, [teacher], PARENT_LINES, tuple(parents)))

    messages = []
    for n, monday in enumerate(mondays):
        ramp = level * (0.4 + 0.6 * n / WEEKS)  # the campaign takes hold week by week
        for chat in chats:
            if chat.conversation.created_at > monday + timedelta(days=7):
                continue
            for _ in range(round(rng.random() * 14 * ramp)):
                at = _school_moment(rng, monday)
                if at <= chat.conversation.created_at or at >= now:
                    continue
                author = chat.writers[0] if rng.random() < 0.7 else rng.choice(chat.writers)
                messages.append(_message(chat, author, chat.lines, rng, at))
                if chat.repliers and rng.random() < 0.5:
                    replier = rng.choice(chat.repliers)
                    messages.append(
                        _message(chat, replier, chat.replies, rng, at + timedelta(minutes=7))
                    )
        _calls(chats, rng, monday, ramp, now)
    # In time order, so message ids grow with time as they do live (read state relies on it).
    stored = sorted((m for m in messages if m.written_at < now), key=lambda m: m.written_at)
    Message.objects.bulk_create(stored, batch_size=2000)
    messages_written.send(sender=Message, messages=stored)
    # Everyone has read all but the last two days, so unread badges look like a real Monday.
    for chat in chats:
        seen = (
            Message.objects.filter(
                conversation=chat.conversation, written_at__lt=now - timedelta(days=2)
            )
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
        if seen:
            ConversationMember.objects.filter(conversation=chat.conversation).update(
                read_up_to=seen
            )
    return len(stored)


def _message(
    chat: _Chat, author: Person, lines: tuple[str, ...], rng: random.Random, at: datetime
) -> Message:
    text = rng.choice(lines).format(
        n=rng.randint(3, 40), m=rng.randint(41, 60), d=f"{rng.randint(1, 28)}-е число"
    )
    return Message(
        conversation=chat.conversation,
        organization_id=chat.conversation.organization_id,
        author=author,
        written_at=at,
        text=text,
    )


def _calls(
    chats: list[_Chat], rng: random.Random, monday: datetime, ramp: float, now: datetime
) -> None:
    """Lessons and consultations by call in class chats; most are held (two people met)."""
    for chat in chats:
        if chat.conversation.purpose != Conversation.Purpose.CLASS or not chat.repliers:
            continue
        for _ in range(round(rng.random() * 4 * ramp)):
            at = _school_moment(rng, monday)
            if at <= chat.conversation.created_at or at + timedelta(hours=1) >= now:
                continue
            teacher = chat.writers[0]
            call = start_call(
                teacher, chat.conversation.organization, conversation=chat.conversation, at=at
            )
            join_call(call, teacher, at=at)
            if rng.random() < 0.85:
                student = rng.choice(chat.repliers)
                join_call(call, student, at=at + timedelta(minutes=2))
                leave_call(call, student, at=at + timedelta(minutes=40))
            leave_call(call, teacher, at=at + timedelta(minutes=45))


def _people(school: Organization, now: datetime) -> dict[str, list[Person]]:
    """The school's people by role now; "head" is whoever is admin and teacher both."""
    by_role: dict[str, set[int]] = {}
    for person_id, role in role_grants_held_at(
        [school.pk], [r.value for r in Role], now
    ).values_list("person_id", "role"):
        by_role.setdefault(role, set()).add(person_id)
    persons = Person.objects.in_bulk(set().union(*by_role.values()))

    def people(ids: set[int]) -> list[Person]:
        return sorted((persons[i] for i in ids), key=lambda p: p.pk)

    admins = by_role.get(Role.ADMIN, set())
    teachers = by_role.get(Role.TEACHER, set())
    result = {role: people(ids) for role, ids in by_role.items()}
    result["head"] = people(admins & teachers)
    result[Role.ADMIN] = people(admins - teachers)
    result[Role.TEACHER] = people(teachers - admins)
    return result
