"""The activation checklist: the letter's algorithm, step by step, for one school."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parta.accounts.models import ClassEnrolment, Person, Role, RoleGrant
from parta.accounts.selectors import grants_held_at, holds_role
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


@dataclass(frozen=True)
class _Facts:
    organization: Organization
    now: datetime
    classes: list[SchoolClass]  # teaching classes, not the teachers' own

    def alive(self, purpose: str, kind: str = Conversation.Kind.CHAT) -> "Q":
        return Q(
            organization=self.organization, kind=kind, purpose=purpose, created_at__lte=self.now
        ) & (Q(deleted_at__isnull=True) | Q(deleted_at__gt=self.now))


def _people_with_role(org: Organization, role: str, now: datetime) -> set[int]:
    return set(
        RoleGrant.objects.filter(grants_held_at(now), organization=org, role=role).values_list(
            "person_id", flat=True
        )
    )


def _admin_signed_in(f: _Facts) -> tuple[bool, str]:
    admins = _people_with_role(f.organization, Role.ADMIN, f.now)
    signed = Person.objects.filter(pk__in=admins, last_login__isnull=False).count()
    return signed > 0, _("Администраторов: %(n)s, входили: %(s)s") % {"n": len(admins), "s": signed}


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
    exists = SchoolClass.objects.filter(organization=f.organization, is_staff_class=True).exists()
    return exists, _("Есть") if exists else _("Нет класса «1*У*Учительский»")


def _teachers_joined(f: _Facts) -> tuple[bool, str]:
    joined = len(_people_with_role(f.organization, Role.TEACHER, f.now))
    planned = f.organization.teacher_headcount
    if not planned:
        return False, _("Присоединилось %(n)s; укажите в профиле число учителей по штату") % {
            "n": joined
        }
    return joined >= planned, _("%(n)s из %(p)s по штату") % {"n": joined, "p": planned}


def _students_joined(f: _Facts) -> tuple[bool, str]:
    with_students = set(
        ClassEnrolment.objects.filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=f.now),
            school_class__in=f.classes,
            valid_from__lte=f.now,
        ).values_list("school_class_id", flat=True)
    )
    empty = [c.name for c in f.classes if c.pk not in with_students]
    if not f.classes:
        return False, _("Сначала создайте классы")
    if empty:
        return False, _("Нет учеников в классах: %(names)s") % {"names": ", ".join(empty)}
    return True, _("Ученики есть во всех классах")


def _channel(purpose: str) -> Callable[[_Facts], tuple[bool, str]]:
    def check(f: _Facts) -> tuple[bool, str]:
        exists = Conversation.objects.filter(f.alive(purpose, Conversation.Kind.CHANNEL)).exists()
        return exists, _("Создан") if exists else _("Не создан")

    return check


def _chat_in_every_class(purpose: str, by_teacher: bool) -> Callable[[_Facts], tuple[bool, str]]:
    def check(f: _Facts) -> tuple[bool, str]:
        covered: set[int] = set()
        for chat in Conversation.objects.filter(
            f.alive(purpose), school_class__in=f.classes
        ).select_related("created_by"):
            if not by_teacher or holds_role(
                chat.created_by, f.organization, Role.TEACHER, chat.created_at
            ):
                covered.add(chat.school_class_id)  # type: ignore[arg-type]
        missing = [c.name for c in f.classes if c.pk not in covered]
        if not f.classes:
            return False, _("Сначала создайте классы")
        if missing:
            return False, _("Нет в классах: %(names)s") % {"names": ", ".join(missing)}
        return True, _("Есть во всех классах")

    return check


def _call_held(f: _Facts) -> tuple[bool, str]:
    count = held_calls().filter(organization=f.organization, created_at__lte=f.now).count()
    return count > 0, _("Проведено звонков: %(n)s") % {"n": count}


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
    facts = _Facts(
        organization=organization,
        now=now,
        classes=list(
            SchoolClass.objects.filter(organization=organization, is_staff_class=False).order_by(
                "grade", "letter", "name"
            )
        ),
    )
    steps = []
    for key, title, check, url_name in STEPS:
        done, detail = check(facts)
        steps.append(Step(key, str(title), done, str(detail), _url(url_name, organization)))
    return steps
