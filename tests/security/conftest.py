"""One small world for the security suites: a region with two districts, their authorities,
two schools in the first district, people in every role, and one of each thing an
endpoint takes an id of (chats, messages, a file, a call, an invite link, a join request,
an admin-change request with its documents).

The world is built once per test module inside a transaction that is rolled back at the
module's end; each test runs in a savepoint of its own (pytest-django's `db`), so what a
cell writes is gone before the next one.
"""

import io
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import timezone
from PIL import Image

from parta.accounts import sms
from parta.accounts.models import Person, Role
from parta.accounts.selectors import current_memberships
from parta.accounts.services import enrol_student, grant_role, link_parent
from parta.calls.services import join_call, open_call
from parta.invites.services import create_invite, request_to_join
from parta.messaging.models import Attachment, Conversation, Message
from parta.messaging.services import (
    create_conversation,
    send_message,
    start_direct_chat,
    upload_attachment,
)
from parta.structure.models import District, Organization, Region, SchoolClass
from parta.support.models import AdminChangeDocument
from parta.support.services import file_request
from tests.caches import clear_cache

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# The number a school asks to make its new admin: a phone of nobody in the world yet.
NEW_ADMIN_PHONE = "+79137770001"

# Who asks, in the order the matrix lists them.
ACTORS = (
    "anonymous",
    "student",
    "parent",
    "teacher",
    "admin",
    "teacher_b",
    "admin_b",
    "authority_other",
    "authority",
    "operator",
)


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


@dataclass
class World:
    region: Region
    district: District  # schools A and B, and the authority
    other_district: District
    authority_org: Organization
    other_authority_org: Organization
    school: Organization  # school A: every path id below belongs to it
    school_b: Organization
    class_5a: SchoolClass
    class_6a: SchoolClass
    people: dict[str, Person]
    class_chat: Conversation  # teacher (owner), student, classmate
    parents_chat: Conversation  # teacher (owner), parent
    club_chat: Conversation  # teacher (owner), student, parent; no call running
    direct_chat: Conversation  # teacher and parent
    channel: Conversation  # the school's info channel, by the admin
    chat_b: Conversation  # school B's teachers' chat
    teacher_message: Message  # in the class chat
    attachment: Attachment  # sent in the class chat
    call_id: int  # running, in the class chat, by the teacher
    call_link_token: str  # of a standalone call the teacher opened
    invite_id: int
    invite_token: str
    join_request_id: int
    admin_change_id: int
    document_id: int
    # Text that only some may read, with who may: message texts, chat titles of school B.
    secrets: dict[str, frozenset[str]] = field(default_factory=dict)
    # Each person's organizations now, and those where they are an admin.
    orgs: dict[str, set[int]] = field(default_factory=dict)
    admin_of: dict[str, set[int]] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)  # a signed-in session per actor

    def actor(self, name: str) -> Person | None:
        return None if name == "anonymous" else self.people[name]


def _member(org: Organization, role: str, full_name: str, phone: str, since) -> Person:
    surname, name, patronymic = Person.split_full_name(full_name)
    person = Person.objects.create_user(phone, surname=surname, name=name, patronymic=patronymic)
    grant_role(person, org, role, valid_from=since)
    return person


def build_world() -> World:
    now = timezone.now()
    since = now - timedelta(days=60)
    region = Region.objects.create(
        name="Край безопасности", code="99", time_zone="Asia/Krasnoyarsk"
    )
    district = District.objects.create(region=region, name="Первый район")
    other_district = District.objects.create(region=region, name="Второй район")
    authority_org = Organization.objects.create(
        district=district, kind=Organization.Kind.AUTHORITY, full_name="Управление Первого района"
    )
    other_authority_org = Organization.objects.create(
        district=other_district,
        kind=Organization.Kind.AUTHORITY,
        full_name="Управление Второго района",
    )
    school = Organization.objects.create(
        district=district,
        full_name="МБОУ Школа А",
        short_name="Школа А",
        head_full_name="Директорова Анна Петровна",
    )
    school_b = Organization.objects.create(
        district=district, full_name="МБОУ Школа Б", short_name="Школа Б"
    )

    people = {
        "admin": _member(school, Role.ADMIN, "Директорова Анна Петровна", "+79130000101", since),
        "teacher": _member(
            school, Role.TEACHER, "Учителева Елена Викторовна", "+79130000102", since
        ),
        "student": _member(school, Role.STUDENT, "Ученикова Дарья Олеговна", "+79130000103", since),
        "classmate": _member(
            school, Role.STUDENT, "Одноклассников Пётр Ильич", "+79130000104", since
        ),
        "other_child": _member(
            school, Role.STUDENT, "Чужаков Артём Сергеевич", "+79130000105", since
        ),
        "parent": _member(school, Role.PARENT, "Родителева Ирина Павловна", "+79130000106", since),
        "other_parent": _member(
            school, Role.PARENT, "Другова Ольга Ивановна", "+79130000107", since
        ),
        "teacher_b": _member(school_b, Role.TEACHER, "Бэшкина Нина Юрьевна", "+79130000201", since),
        "admin_b": _member(school_b, Role.ADMIN, "Бэшкин Олег Петрович", "+79130000202", since),
        "authority": _member(
            authority_org, Role.ADMIN, "Управленцева Вера Ивановна", "+79130000301", since
        ),
        "authority_other": _member(
            other_authority_org, Role.STAFF, "Дальнева Мария Сергеевна", "+79130000401", since
        ),
        "newcomer": Person.objects.create_user(
            "+79130000501", surname="Новикова", name="Дарья", patronymic="Андреевна"
        ),
        "operator": Person.objects.create_user(
            "+79130000601", surname="Операторова", name="Служба", patronymic="Поддержки"
        ),
    }
    people["operator"].is_staff = True
    people["operator"].save()
    # The head of school A is a teacher of the district's authority, as the letter has it.
    grant_role(people["admin"], authority_org, Role.TEACHER, valid_from=since)

    class_5a = SchoolClass.objects.create(
        organization=school, name="5А", class_teacher=people["teacher"]
    )
    class_6a = SchoolClass.objects.create(organization=school, name="6А")
    for key, school_class in (
        ("student", class_5a),
        ("classmate", class_5a),
        ("other_child", class_6a),
    ):
        enrol_student(people[key], school_class, at=since)
    link_parent(people["parent"], people["student"])
    link_parent(people["other_parent"], people["other_child"])

    teacher, student, parent = people["teacher"], people["student"], people["parent"]
    class_chat = create_conversation(
        teacher, school, title="5А — чат класса", purpose="class", school_class=class_5a
    )
    parents_chat = create_conversation(
        teacher, school, title="5А — родители", purpose="parents", school_class=class_5a
    )
    club_chat = create_conversation(teacher, school, title="Кружок", members=[student, parent])
    direct_chat = start_direct_chat(teacher, parent, school)
    channel = create_conversation(
        people["admin"], school, title="Новости школы", kind="channel", purpose="info"
    )
    chat_b = create_conversation(
        people["teacher_b"],
        school_b,
        title="Учительская Б",
        purpose="staff",
        members=[people["admin_b"]],
    )

    teacher_message = send_message(teacher, class_chat, "Текст урока для 5А: тайна-класса")
    send_message(student, class_chat, "Ответ ученицы: тайна-ученицы")
    send_message(teacher, parents_chat, "Собрание родителей: тайна-родителей")
    send_message(parent, direct_chat, "Личное от родителя: тайна-личного")
    send_message(people["admin"], channel, "Новость школы: тайна-канала")
    send_message(people["teacher_b"], chat_b, "Учительская Б: тайна-школы-Б")
    upload = SimpleUploadedFile("map.png", png_bytes(), content_type="image/png")
    attachment = upload_attachment(teacher, class_chat, upload)
    send_message(teacher, class_chat, "Карта к уроку", attachments=[attachment])

    call = open_call(teacher, school, conversation=class_chat).call
    join_call(call, student)
    standalone = open_call(teacher, school, title="Родительское собрание", with_link=True)
    assert standalone.link_token is not None

    invite = create_invite(school, Role.STUDENT, actor=people["admin"], school_class=class_5a)
    join_request = request_to_join(people["newcomer"], school, Role.TEACHER)
    change = file_request(
        teacher,
        school,
        full_name="Сменова Алла Борисовна",
        phone=NEW_ADMIN_PHONE,
        letter=SimpleUploadedFile("letter.pdf", PDF, content_type="application/pdf"),
        order=SimpleUploadedFile("order.pdf", PDF, content_type="application/pdf"),
    )
    document = AdminChangeDocument.objects.filter(request=change).order_by("pk").first()
    assert document is not None

    world = World(
        region=region,
        district=district,
        other_district=other_district,
        authority_org=authority_org,
        other_authority_org=other_authority_org,
        school=school,
        school_b=school_b,
        class_5a=class_5a,
        class_6a=class_6a,
        people=people,
        class_chat=class_chat,
        parents_chat=parents_chat,
        club_chat=club_chat,
        direct_chat=direct_chat,
        channel=channel,
        chat_b=chat_b,
        teacher_message=teacher_message,
        attachment=attachment,
        call_id=call.pk,
        call_link_token=standalone.link_token,
        invite_id=invite.link.pk,
        invite_token=invite.token,
        join_request_id=join_request.pk,
        admin_change_id=change.pk,
        document_id=document.pk,
    )
    world.secrets = _secrets(world)
    for key, someone in people.items():
        memberships = current_memberships(someone, now)
        world.orgs[key] = {org.pk for org in memberships}
        world.admin_of[key] = {org.pk for org, roles in memberships.items() if Role.ADMIN in roles}
    return world


def _actor_names(world: World, people: list[Person]) -> set[str]:
    ids = {person.pk for person in people}
    return {name for name in ACTORS if name != "anonymous" and world.people[name].pk in ids}


def _secrets(world: World) -> dict[str, frozenset[str]]:
    """Each message text (its marker) and school B's chat title, with the actors who may read
    them: the chat's members and the school's admins (they moderate every group chat)."""
    secrets: dict[str, frozenset[str]] = {}
    admins = {world.school.pk: {"admin"}, world.school_b.pk: {"admin_b"}}
    for conversation in (
        world.class_chat,
        world.parents_chat,
        world.club_chat,
        world.direct_chat,
        world.channel,
        world.chat_b,
    ):
        members = [m.person for m in conversation.members.select_related("person")]
        readers = _actor_names(world, members)
        if conversation.purpose != Conversation.Purpose.DIRECT:
            readers |= admins[conversation.organization_id]
        for text in conversation.messages.values_list("text", flat=True):
            if "тайна-" in text:
                secrets["тайна-" + text.split("тайна-", 1)[1]] = frozenset(readers)
    secrets[world.chat_b.title] = frozenset(_actor_names(world, [world.people["teacher_b"]]))
    secrets[world.chat_b.title] |= {"admin_b"}
    # School B is named to its own people, its district's authority and the operator only:
    # no row asks about it, so its name anywhere else is another school's data.
    for name in (world.school_b.full_name, world.school_b.short_name):
        secrets[name] = frozenset({"teacher_b", "admin_b", "authority", "operator"})
    return secrets


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The world, once per module; rolled back when the module is done."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            built = build_world()
            for name in ACTORS[1:]:
                signing_in = Client()
                signing_in.force_login(built.people[name])
                built.sessions[name] = signing_in.cookies[settings.SESSION_COOKIE_NAME].value
            yield built
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def no_limits_no_sms(settings):
    """Rate limits start from zero in each cell; codes go to the outbox, not to a gateway."""
    settings.PARTA_SMS_BACKEND = "parta.accounts.sms.LocmemSmsBackend"
    clear_cache()
    sms.outbox.clear()
    yield
    sms.outbox.clear()
