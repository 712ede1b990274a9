"""The activation checklist: the letter's algorithm, step by step, for one school."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parta.accounts.models import ClassEnrolment, Role
from parta.accounts.selectors import grants_held_at, role_grants_held_at, role_held_at_each
from parta.calls.selectors import held_calls
from parta.messaging.models import Conversation
from parta.structure.models import Organization, SchoolClass

PROFILE_REQUIRED = (
    "full_name",
    "inn",
    "ogrn",
    "kpp",
    "address",
    "phone",
    "email",
    "head_full_name",
)


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    done: bool
    detail: str
    url: str


@dataclass
class _Facts:
    """What the steps read about one school at a moment, read for many schools at once."""

    organization: Organization
    now: datetime
    classes: list[SchoolClass] = field(default_factory=list)  # teaching, not the teachers' own
    has_staff_class: bool = False
    admins: set[int] = field(default_factory=set)
    admins_signed_in: set[int] = field(default_factory=set)
    teachers: set[int] = field(default_factory=set)
    classes_with_students: set[int] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)  # purposes of live channels
    # (purpose, created by a teacher of the school then) → classes with such a live chat
    chat_classes: dict[tuple[str, bool], set[int]] = field(default_factory=dict)
    held_calls: int = 0


def _admin_signed_in(f: _Facts) -> tuple[bool, str]:
    signed = len(f.admins_signed_in)
    return signed > 0, _("Администраторов: %(n)s, входили: %(s)s") % {
        "n": len(f.admins),
        "s": signed,
    }


def _profile_complete(f: _Facts) -> tuple[bool, str]:
    missing = [
        str(getattr(Organization._meta.get_field(name), "verbose_name", name))
        for name in PROFILE_REQUIRED
        if not getattr(f.organization, name)
    ]
    if missing:
        return False, _("Не заполнено: %(fields)s") % {"fields": ", ".join(missing)}
    return True, _("Все сведения заполнены")


def _classes_created(f: _Facts) -> tuple[bool, str]:
    return bool(f.classes), _("Классов: %(n)s") % {"n": len(f.classes)}


def _teachers_class(f: _Facts) -> tuple[bool, str]:
    exists = f.has_staff_class
    return exists, _("Есть") if exists else _("Нет класса «1*У*Учительский»")


def _teachers_joined(f: _Facts) -> tuple[bool, str]:
    joined = len(f.teachers)
    planned = f.organization.teacher_headcount
    if not planned:
        return False, _("Присоединилось %(n)s; укажите в профиле число учителей по штату") % {
            "n": joined
        }
    return joined >= planned, _("%(n)s из %(p)s по штату") % {"n": joined, "p": planned}


def _students_joined(f: _Facts) -> tuple[bool, str]:
    empty = [c.name for c in f.classes if c.pk not in f.classes_with_students]
    if not f.classes:
        return False, _("Сначала создайте классы")
    if empty:
        return False, _("Нет учеников в классах: %(names)s") % {"names": ", ".join(empty)}
    return True, _("Ученики есть во всех классах")


def _channel(purpose: str) -> Callable[[_Facts], tuple[bool, str]]:
    def check(f: _Facts) -> tuple[bool, str]:
        exists = purpose in f.channels
        return exists, _("Создан") if exists else _("Не создан")

    return check


def _chat_in_every_class(purpose: str, by_teacher: bool) -> Callable[[_Facts], tuple[bool, str]]:
    def check(f: _Facts) -> tuple[bool, str]:
        covered = f.chat_classes.get((purpose, True), set())
        if not by_teacher:
            covered = covered | f.chat_classes.get((purpose, False), set())
        missing = [c.name for c in f.classes if c.pk not in covered]
        if not f.classes:
            return False, _("Сначала создайте классы")
        if missing:
            return False, _("Нет в классах: %(names)s") % {"names": ", ".join(missing)}
        return True, _("Есть во всех классах")

    return check


def _call_held(f: _Facts) -> tuple[bool, str]:
    return f.held_calls > 0, _("Проведено звонков: %(n)s") % {"n": f.held_calls}


# (key, title, check, URL name of the page that does it)
STEPS: tuple[tuple[str, object, Callable[[_Facts], tuple[bool, str]], str], ...] = (
    (
        "admin_signed_in",
        gettext_lazy("Администратор вошёл в систему"),
        _admin_signed_in,
        "invites:members",
    ),
    (
        "profile_complete",
        gettext_lazy("Сведения об организации заполнены"),
        _profile_complete,
        "structure:profile",
    ),
    ("classes_created", gettext_lazy("Классы созданы"), _classes_created, "structure:classes"),
    (
        "teachers_class",
        gettext_lazy("Класс учителей «1*У*Учительский»"),
        _teachers_class,
        "structure:classes",
    ),
    ("teachers_joined", gettext_lazy("Учителя присоединились"), _teachers_joined, "invites:links"),
    ("students_joined", gettext_lazy("Ученики присоединились"), _students_joined, "invites:links"),
    (
        "info_channel",
        gettext_lazy("Общешкольный информационный канал"),
        _channel(Conversation.Purpose.INFO),
        "messaging:new",
    ),
    (
        "staff_channel",
        gettext_lazy("Канал для сотрудников"),
        _channel(Conversation.Purpose.STAFF),
        "messaging:new",
    ),
    (
        "class_chats",
        gettext_lazy("Чат с классом от учителя в каждом классе"),
        _chat_in_every_class(Conversation.Purpose.CLASS, by_teacher=True),
        "messaging:new",
    ),
    (
        "parent_chats",
        gettext_lazy("Чат с родителями в каждом классе"),
        _chat_in_every_class(Conversation.Purpose.PARENTS, by_teacher=False),
        "messaging:new",
    ),
    ("call_held", gettext_lazy("Проведён звонок"), _call_held, "messaging:list"),
)


def _url(name: str, organization: Organization) -> str:
    if name.startswith(("structure:", "invites:")):
        return reverse(name, kwargs={"organization_id": organization.pk})
    return reverse(name)


def activation_checklist(organization: Organization, now: datetime) -> list[Step]:
    return activation_checklists([organization], now)[organization.pk]


def activation_checklists(
    organizations: Sequence[Organization], now: datetime
) -> dict[int, list[Step]]:
    """Each organization's steps at `now`, by organization id, in the same few queries
    whatever the number of organizations."""
    checklists: dict[int, list[Step]] = {}
    for org_id, facts in _facts(organizations, now).items():
        steps = checklists[org_id] = []
        for key, title, check, url_name in STEPS:
            done, detail = check(facts)
            steps.append(
                Step(key, str(title), done, str(detail), _url(url_name, facts.organization))
            )
    return checklists


def _facts(organizations: Sequence[Organization], now: datetime) -> dict[int, _Facts]:
    facts = {org.pk: _Facts(organization=org, now=now) for org in organizations}
    org_ids = list(facts)
    teaching: dict[int, SchoolClass] = {}
    for school_class in SchoolClass.objects.filter(organization_id__in=org_ids).order_by(
        "grade", "letter", "name"
    ):
        f = facts[school_class.organization_id]
        if school_class.is_staff_class:
            f.has_staff_class = True
        else:
            f.classes.append(school_class)
            teaching[school_class.pk] = school_class
    for org_id, role, person_id, last_login in role_grants_held_at(
        org_ids, [Role.ADMIN, Role.TEACHER], now
    ).values_list("organization_id", "role", "person_id", "person__last_login"):
        f = facts[org_id]
        if role == Role.TEACHER:
            f.teachers.add(person_id)
        else:
            f.admins.add(person_id)
            if last_login is not None:
                f.admins_signed_in.add(person_id)
    for class_id in (
        ClassEnrolment.objects.filter(grants_held_at(now), school_class_id__in=list(teaching))
        .values_list("school_class_id", flat=True)
        .distinct()
    ):
        facts[teaching[class_id].organization_id].classes_with_students.add(class_id)
    alive = Q(created_at__lte=now) & (Q(deleted_at__isnull=True) | Q(deleted_at__gt=now))
    channels = Q(kind=Conversation.Kind.CHANNEL)
    class_chats = Q(kind=Conversation.Kind.CHAT, school_class_id__in=list(teaching))
    for org_id, kind, purpose, class_id, by_teacher in (
        Conversation.objects.filter(alive, channels | class_chats, organization_id__in=org_ids)
        .annotate(
            by_teacher=Exists(
                role_held_at_each(
                    Role.TEACHER,
                    OuterRef("organization_id"),
                    OuterRef("created_by_id"),
                    OuterRef("created_at"),
                )
            )
        )
        .values_list("organization_id", "kind", "purpose", "school_class_id", "by_teacher")
        .distinct()
    ):
        f = facts[org_id]
        if kind == Conversation.Kind.CHANNEL:
            f.channels.add(purpose)
        else:
            f.chat_classes.setdefault((purpose, by_teacher), set()).add(class_id)
    for org_id, n in (
        held_calls()
        .filter(organization_id__in=org_ids, created_at__lte=now)
        .values_list("organization_id")
        .annotate(n=Count("id"))
        .order_by()
    ):
        facts[org_id].held_calls = n
    return facts
