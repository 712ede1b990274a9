"""The demo district: Мотыгинский район of Красноярский край, its schools and people.

The seed is built in layers, one function each (structure, then people). A layer
leaves alone what it finds already built, so running the seed twice changes
nothing, and later layers (chats, messages, calls over past weeks) can be added
beside these in the same shape. Everything is drawn from one seeded random
generator, so every run builds the same district.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from parta.accounts.models import ClassEnrolment, ParentLink, Person, Role
from parta.accounts.services import grant_role
from parta.demo.names import Family, FullName, NameSource
from parta.monitoring.weeks import Week
from parta.structure.models import District, Organization, Region, SchoolClass
from parta.structure.selectors import academic_year_at
from parta.structure.validators import validate_inn, validate_ogrn

RANDOM_SEED = 2026
ZONE = ZoneInfo("Asia/Krasnoyarsk")
WEEKS = 6  # closed weeks of activity before the current one
STAFF_CLASS_NAME = "1*У*Учительский"
GRANT_REASON = "демо-данные"
EXTERNAL_PREFIX = "demo:"

# Well-known sign-ins, all in the first school and the authority. They are
# outside the +7913 01… – +7913 20… blocks the other demo people get, and
# differ from the phones of docs/examples/example-activity.jsonl, so that file can be
# imported beside the demo.
PHONE_SCHOOL_ADMIN = "+79139000001"
PHONE_HEAD = "+79139000002"
PHONE_TEACHER = "+79139000003"
PHONE_AUTHORITY = "+79139000004"
PHONE_OPERATOR = "+79139000005"
PHONE_PARENT = "+79139000006"
PHONE_STUDENT = "+79139000007"
# The class whose teacher, one student and that student's parent get the phones above.
DEMO_CLASS_NAME = "5А"

AUTHORITY_KEY = "uo"
PROFILES_FILLED = 6  # schools s01–s06 have filled in their whole profile
AUTHORITY_PHONE_BLOCK = 20


@dataclass(frozen=True)
class SchoolPlan:
    key: str
    number: int  # also the phone block of its people: +7913 <number:02> xxxxx
    full_name: str
    short_name: str
    locality: str
    postcode: str
    letters: tuple[str, ...]  # parallel classes per grade
    last_grade: int  # 11 for a СОШ, 9 for an ООШ
    teachers: int  # the head included


SCHOOLS = (
    SchoolPlan("s01", 1, "МБОУ Мотыгинская СОШ №1", "Мотыгинская СОШ №1", "п. Мотыгино",
               "663400", ("А", "Б"), 11, 30),
    SchoolPlan("s02", 2, "МБОУ Раздольнинская СОШ", "Раздольнинская СОШ", "п. Раздолинск",
               "663410", ("А", "Б"), 11, 27),
    SchoolPlan("s03", 3, "МБОУ Орджоникидзевская СОШ №2", "Орджоникидзевская СОШ №2",
               "п. Орджоникидзе", "663412", ("А", "Б"), 11, 26),
    SchoolPlan("s04", 4, "МБОУ Первомайская СОШ", "Первомайская СОШ", "п. Первомайск",
               "663405", ("А",), 11, 19),
    SchoolPlan("s05", 5, "МБОУ Кирсантьевская СОШ", "Кирсантьевская СОШ", "с. Кирсантьево",
               "663414", ("А",), 11, 16),
    SchoolPlan("s06", 6, "МБОУ Южно-Енисейская СОШ", "Южно-Енисейская СОШ",
               "п. Южно-Енисейск", "663406", ("А",), 11, 18),
    SchoolPlan("s07", 7, "МБОУ Машуковская СОШ", "Машуковская СОШ", "п. Машуковка",
               "663408", ("А",), 11, 17),
    SchoolPlan("s08", 8, "МБОУ Партизанская СОШ", "Партизанская СОШ", "п. Партизанск",
               "663407", ("А",), 11, 16),
    SchoolPlan("s09", 9, "МБОУ Новоангарская ООШ", "Новоангарская ООШ", "п. Новоангарск",
               "663415", ("А",), 9, 15),
    SchoolPlan("s10", 10, "МБОУ Слюдрудниковская ООШ", "Слюдрудниковская ООШ",
               "п. Слюдрудник", "663416", ("А",), 9, 15),
)  # fmt: skip


@dataclass(frozen=True)
class DemoYear:
    """The academic year the demo is set in, taken from the day it is seeded, so that a demo
    seeded next year is not last year's school. Roles, enrolments and accounts start on
    1 September local time, or on the Monday of the first past week of activity when the
    seed runs so early in the year (or in the summer) that those weeks reach back before it."""

    academic_year: int
    starts: datetime

    @classmethod
    def of(cls, now: datetime) -> "DemoYear":
        year = academic_year_at(now, ZONE)
        first_week = Week.containing(now, ZONE).start(ZONE) - timedelta(weeks=WEEKS)
        return cls(year, min(datetime(year, 9, 1, tzinfo=ZONE), first_week))


@dataclass
class DemoDistrict:
    year: DemoYear
    region: Region
    district: District
    authority: Organization
    schools: dict[str, Organization]  # by SchoolPlan.key


@dataclass(frozen=True)
class DemoSignIn:
    phone: str
    who: str
    person: str
    organization: str


def _external_id(*parts: object) -> str:
    return EXTERNAL_PREFIX + ":".join(str(part) for part in parts)


def _phone(block: int, number: int) -> str:
    return f"+7913{block:02d}{number:05d}"


def _generator(*parts: object) -> random.Random:
    """A generator seeded from RANDOM_SEED and `parts`: demo data must repeat, not be secret."""
    return random.Random(":".join(str(part) for part in (RANDOM_SEED, *parts)))  # noqa: S311


def _complete_with_check_digit(body: str, validate: Callable[[str], None]) -> str:
    """The one digit that makes `body + digit` pass `validate` (the validator owns the rule)."""
    for digit in "0123456789":
        try:
            validate(body + digit)
        except ValidationError:
            continue
        return body + digit
    raise ValueError(f"no check digit completes {body}")


def school_inn(plan: SchoolPlan) -> str:
    # 2426: the tax office of Мотыгинский район, as in the authority's own INN.
    return _complete_with_check_digit(f"2426{3100 + plan.number:05d}", validate_inn)


def school_ogrn(plan: SchoolPlan) -> str:
    return _complete_with_check_digit(f"10224015{2200 + plan.number:04d}", validate_ogrn)


# ---------------------------------------------------------------- structure


def seed_structure(year: DemoYear) -> DemoDistrict:
    """Region, district, the authority from the activation letter, schools and their classes."""
    region, _created = Region.objects.get_or_create(
        external_id=_external_id("region", 24),
        defaults={"name": "Красноярский край", "code": "24", "time_zone": "Asia/Krasnoyarsk"},
    )
    district, _created = District.objects.get_or_create(
        external_id=_external_id("district", "motygino"),
        defaults={"region": region, "name": "Мотыгинский район"},
    )
    authority, _created = Organization.objects.get_or_create(
        external_id=_external_id("org", AUTHORITY_KEY),
        defaults={
            "district": district,
            "kind": Organization.Kind.AUTHORITY,
            "full_name": "МКУ «Управление образования Мотыгинского района»",
            "short_name": "Управление образования",
            "inn": "2426001487",
            "kpp": "242601001",
            "ogrn": "1022401506346",
            "address": "Шоссейная ул., 50, п. Мотыгино, 663400",
            "phone": "8 (39141) 2-25-06",
            "admin_application_phone": PHONE_AUTHORITY,
        },
    )
    schools = {plan.key: _seed_school(district, plan, year) for plan in SCHOOLS}
    return DemoDistrict(year, region, district, authority, schools)


def _seed_school(district: District, plan: SchoolPlan, year: DemoYear) -> Organization:
    school, _created = Organization.objects.get_or_create(
        external_id=_external_id("org", plan.key),
        defaults={
            "district": district,
            "kind": Organization.Kind.SCHOOL,
            "full_name": plan.full_name,
            "short_name": plan.short_name,
            "inn": school_inn(plan),
            "kpp": "242601001",
            "ogrn": school_ogrn(plan),
            "address": f"{plan.locality}, Мотыгинский район, Красноярский край, {plan.postcode}",
            # The later schools have not finished their profile: the checklist shows it.
            **(
                {
                    "phone": f"+7 39141 2{plan.number:04d}",
                    "email": f"{plan.key}@motygino-edu.example",
                    "teacher_headcount": plan.teachers,
                }
                if plan.number <= PROFILES_FILLED
                else {}
            ),
            "admin_application_phone": (
                PHONE_SCHOOL_ADMIN if plan.number == 1 else _phone(plan.number, 1)
            ),
        },
    )
    for name, is_staff_class in class_names(plan):
        SchoolClass.objects.get_or_create(
            external_id=_external_id(plan.key, "class", name),
            defaults={
                "organization": school,
                "name": name,
                "academic_year": year.academic_year,
                "is_staff_class": is_staff_class,
            },
        )
    return school


def class_names(plan: SchoolPlan) -> list[tuple[str, bool]]:
    """(name, is the teachers' class): the teachers' class first, then 1А … 11Б."""
    names = [(STAFF_CLASS_NAME, True)]
    names += [
        (f"{grade}{letter}", False)
        for grade in range(1, plan.last_grade + 1)
        for letter in plan.letters
    ]
    return names


# ---------------------------------------------------------------- people


@dataclass
class _PeopleBatch:
    """People of one school gathered before they are written in bulk."""

    block: int
    starts: datetime  # DemoYear.starts
    people: list[Person] = field(default_factory=list)
    roles: list[tuple[str, str]] = field(default_factory=list)  # (external id, role)
    enrolments: list[tuple[str, SchoolClass]] = field(default_factory=list)
    parent_links: list[tuple[str, str]] = field(default_factory=list)  # (parent, child)
    next_phone: int = 1

    def add(self, key: str, name: FullName, *roles: str, phone: bool = True) -> str:
        external_id = _external_id(key)
        number = None
        if phone:
            number = _phone(self.block, self.next_phone)
            self.next_phone += 1
        person = Person(
            external_id=external_id, phone=number, surname=name.surname, name=name.name,
            patronymic=name.patronymic, date_joined=self.starts,
        )  # fmt: skip
        person.set_unusable_password()
        self.people.append(person)
        self.roles += [(external_id, role) for role in roles]
        return external_id


def seed_people(demo: DemoDistrict) -> None:
    """The operator, the authority's official, and every school's staff, students and parents."""
    names = NameSource(_generator("platform"))
    if not Person.objects.filter(phone=PHONE_OPERATOR).exists():
        operator = names.person("m")
        Person.objects.create_superuser(
            PHONE_OPERATOR, surname=operator.surname, name=operator.name,
            patronymic=operator.patronymic, external_id=_external_id("operator"),
        )  # fmt: skip
    heads: list[Person] = []
    for plan in SCHOOLS:
        # Each school draws from its own generator, so one school's people do not
        # depend on whether another school was seeded in this run.
        school_names = NameSource(_generator(plan.key))
        heads.append(
            _seed_school_people(demo.schools[plan.key], plan, school_names, demo.year.starts)
        )
    _seed_authority_people(demo.authority, heads, names, demo.year.starts)


def _seed_school_people(
    school: Organization, plan: SchoolPlan, names: NameSource, starts: datetime
) -> Person:
    """Staff, students and parents of one school; returns the head."""
    head_id = _external_id(plan.key, "head")
    if school.role_grants.exists():
        return Person.objects.get(external_id=head_id)
    rng = _generator(plan.key, "people")
    batch = _PeopleBatch(block=plan.number, starts=starts)
    # The first phone of the block is the one from the connection application.
    batch.add(f"{plan.key}:admin", names.person(names.sex()), Role.ADMIN)
    batch.add(f"{plan.key}:head", names.person(names.sex()), Role.ADMIN, Role.TEACHER)
    batch.add(f"{plan.key}:staff", names.person("f"), Role.STAFF)
    teacher_ids = [
        batch.add(
            f"{plan.key}:teacher:{n:02d}",
            names.person("m" if rng.random() < 0.2 else "f"),
            Role.TEACHER,
        )
        for n in range(1, plan.teachers)
    ]

    classes = list(
        SchoolClass.objects.filter(organization=school, is_staff_class=False).order_by(
            "grade", "letter"
        )
    )
    leaders = dict(zip((c.pk for c in classes), rng.sample(teacher_ids, len(classes)), strict=True))
    families: list[tuple[Family, list[str]]] = []  # with their parents' external ids
    for school_class in classes:
        for n in range(1, rng.randint(5, 8) + 1):
            # About one child in five has a brother or sister already at this school.
            if families and rng.random() < 0.2:
                family, parents = rng.choice(families)
            else:
                family = names.family()
                key = f"{plan.key}:parent:{len(families) + 1}"
                parents = [batch.add(f"{key}:mother", family.mother, Role.PARENT)]
                if rng.random() < 0.6:
                    parents.append(batch.add(f"{key}:father", family.father, Role.PARENT))
                families.append((family, parents))
            # Children get a phone of their own from the fifth grade.
            student_id = batch.add(
                f"{plan.key}:student:{school_class.name}:{n}",
                names.child(family, names.sex()),
                Role.STUDENT,
                phone=(school_class.grade or 0) >= 5,
            )
            batch.enrolments.append((student_id, school_class))
            batch.parent_links += [(parent, student_id) for parent in parents]

    if plan.number == 1:
        _give_demo_phones(batch, classes, leaders)
    people = _write_batch(school, batch)
    for school_class in classes:
        school_class.class_teacher = people[leaders[school_class.pk]]
    SchoolClass.objects.bulk_update(classes, ["class_teacher"])
    school.head_full_name = people[head_id].full_name
    school.save(update_fields=["head_full_name"])
    return people[head_id]


def _give_demo_phones(
    batch: _PeopleBatch, classes: list[SchoolClass], leaders: dict[int, str]
) -> None:
    """Move the well-known phones onto the admin, the head, 5А's teacher, a student and a parent."""
    demo_class = next(c for c in classes if c.name == DEMO_CLASS_NAME)
    student_id = next(sid for sid, c in batch.enrolments if c.pk == demo_class.pk)
    parent_id = next(parent for parent, child in batch.parent_links if child == student_id)
    phones = {
        _external_id("s01:admin"): PHONE_SCHOOL_ADMIN,
        _external_id("s01:head"): PHONE_HEAD,
        leaders[demo_class.pk]: PHONE_TEACHER,
        student_id: PHONE_STUDENT,
        parent_id: PHONE_PARENT,
    }
    for person in batch.people:
        if person.external_id in phones:
            person.phone = phones[person.external_id]


def _write_batch(organization: Organization, batch: _PeopleBatch) -> dict[str, Person]:
    """People, enrolments and parent links in bulk; every role through grant_role."""
    Person.objects.bulk_create(batch.people)
    people = Person.objects.in_bulk(
        [person.external_id for person in batch.people], field_name="external_id"
    )
    for external_id, role in batch.roles:
        grant_role(
            people[external_id], organization, role, valid_from=batch.starts, reason=GRANT_REASON
        )
    ClassEnrolment.objects.bulk_create(
        ClassEnrolment(student=people[sid], school_class=c, valid_from=batch.starts)
        for sid, c in batch.enrolments
    )
    ParentLink.objects.bulk_create(
        ParentLink(parent=people[parent], child=people[child])
        for parent, child in batch.parent_links
    )
    return {str(key): person for key, person in people.items()}


def _seed_authority_people(
    authority: Organization, heads: list[Person], names: NameSource, starts: datetime
) -> None:
    """The authority's official and a specialist; every head is a teacher there (the letter)."""
    if authority.role_grants.exists():
        return
    batch = _PeopleBatch(block=AUTHORITY_PHONE_BLOCK, starts=starts)
    official_id = batch.add("uo:official", names.person("f"), Role.ADMIN, Role.STAFF)
    batch.add("uo:specialist", names.person("f"), Role.STAFF)
    batch.people[0].phone = PHONE_AUTHORITY
    people = _write_batch(authority, batch)
    authority.head_full_name = people[official_id].full_name
    authority.save(update_fields=["head_full_name"])
    for head in heads:
        grant_role(head, authority, Role.TEACHER, valid_from=starts, reason=GRANT_REASON)


# ---------------------------------------------------------------- the whole seed


@transaction.atomic
def seed_demo(now: datetime | None = None) -> DemoDistrict:
    """Build (or find) the whole demo district, set in the academic year of `now` (default:
    the present). Running it again changes nothing."""
    demo = seed_structure(DemoYear.of(now or timezone.now()))
    seed_people(demo)
    return demo


def demo_sign_ins() -> list[DemoSignIn]:
    """The well-known phones to sign in with, and who answers to each."""
    wanted = [
        (PHONE_SCHOOL_ADMIN, _("администратор школы (не учитель)")),
        (PHONE_HEAD, _("директор: администратор и учитель")),
        (PHONE_TEACHER, _("учитель, классный руководитель 5А")),
        (PHONE_STUDENT, _("ученик 5А")),
        (PHONE_PARENT, _("родитель ученика 5А")),
        (PHONE_AUTHORITY, _("управление образования района")),
        (PHONE_OPERATOR, _("оператор платформы (служба поддержки)")),
    ]
    people = Person.objects.in_bulk([phone for phone, _who in wanted], field_name="phone")
    sign_ins = []
    for phone, who in wanted:
        person = people.get(phone)
        if person is None:
            continue
        grant = person.role_grants.select_related("organization").order_by("id").first()
        organization = str(grant.organization) if grant else _("вся платформа")
        sign_ins.append(DemoSignIn(phone, who, person.full_name, organization))
    return sign_ins
