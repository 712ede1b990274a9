"""Writes about an organization's profile and classes, by its admins. One transaction each.

Every function takes the acting person and checks at that moment that they are an
admin of the organization (accounts.selectors.require_admin).
"""

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from parta.accounts.models import Person, Role
from parta.accounts.selectors import holds_role, require_admin
from parta.accounts.services import record_audit
from parta.structure.models import Organization, SchoolClass

STAFF_CLASS_NAME = "1*У*Учительский"
PROFILE_FIELDS = (
    "full_name",
    "short_name",
    "inn",
    "ogrn",
    "kpp",
    "address",
    "phone",
    "email",
    "site",
    "head_full_name",
    "teacher_headcount",
)
# Class letters in Russian schools: the alphabet without Ё, Й, Ъ, Ы, Ь.
CLASS_LETTERS = "АБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЩЭЮЯ"
MAX_CLASSES_PER_PLAN = 300
_RANGE_RE = re.compile(
    r"^(?P<g1>\d{1,2})\s*(?P<l1>[^\W\d_])\s*[-–—]\s*(?P<g2>\d{1,2})\s*(?P<l2>[^\W\d_])$"
)
_SINGLE_RE = re.compile(r"^(?P<g>\d{1,2})\s*(?P<l>[^\W\d_])?$")


@transaction.atomic
def update_profile(
    organization: Organization, *, actor: Person, **fields: str | int | None
) -> Organization:
    """Change the profile fields named in PROFILE_FIELDS; INN/OGRN/KPP are checked."""
    require_admin(actor, organization)
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError(
            _("Эти поля профиля менять нельзя: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))}
        )
    changed = sorted(name for name, value in fields.items() if getattr(organization, name) != value)
    for name, value in fields.items():
        setattr(organization, name, value.strip() if isinstance(value, str) else value)
    organization.full_clean()
    organization.save()
    if changed:
        record_audit(
            "organization.profile_updated", actor=actor, organization=organization, fields=changed
        )
    return organization


def _letter_index(letter: str, item: str) -> int:
    index = CLASS_LETTERS.find(letter.upper())
    if index < 0:
        raise ValidationError(
            _("«%(item)s»: литера «%(letter)s» не из русского алфавита (А, Б, В, …).")
            % {"item": item, "letter": letter}
        )
    return index


def _grade(text: str, item: str) -> int:
    grade = int(text)
    if not 1 <= grade <= 11:
        raise ValidationError(
            _("«%(item)s»: параллель %(grade)d — допустимы параллели с 1 по 11.")
            % {"item": item, "grade": grade}
        )
    return grade


def staffing_plan_names(plan: str) -> list[str]:
    """«1А–11В, 12…» → class names. A range gives every grade × every letter between its ends.

    Items are separated by commas, semicolons or new lines: «5А» is one class, «1А–4В» is
    1А, 1Б, 1В, 2А, … 4В. Names come out in order, each once.
    """
    names: list[str] = []
    items = [item.strip() for item in re.split(r"[,;\n]", plan) if item.strip()]
    if not items:
        raise ValidationError(_("Укажите классы, например «1А–11В» или «5А, 5Б, 6А»."))
    for item in items:
        if match := _RANGE_RE.match(item):
            first, last = _grade(match["g1"], item), _grade(match["g2"], item)
            low, high = _letter_index(match["l1"], item), _letter_index(match["l2"], item)
            if first > last or low > high:
                raise ValidationError(
                    _("«%(item)s»: начало диапазона должно быть не позже конца.") % {"item": item}
                )
            names.extend(
                f"{grade}{CLASS_LETTERS[index]}"
                for grade in range(first, last + 1)
                for index in range(low, high + 1)
            )
        elif match := _SINGLE_RE.match(item):
            letter = match["l"] or ""
            if letter:
                letter = CLASS_LETTERS[_letter_index(letter, item)]
            names.append(f"{_grade(match['g'], item)}{letter}")
        else:
            raise ValidationError(
                _(
                    "«%(item)s» не похоже на класс или диапазон классов "
                    "(например «5А» или «1А–11В»)."
                )
                % {"item": item}
            )
        if len(names) > MAX_CLASSES_PER_PLAN:
            raise ValidationError(
                _("Слишком много классов сразу (больше %(max)d). Проверьте диапазоны.")
                % {"max": MAX_CLASSES_PER_PLAN}
            )
    return list(dict.fromkeys(names))


def _check_class_teacher(organization: Organization, teacher: Person | None) -> None:
    if teacher is not None and not holds_role(teacher, organization, Role.TEACHER, timezone.now()):
        raise ValidationError(
            _(
                "%(person)s сейчас не учитель в организации «%(org)s»: классным руководителем "
                "назначается учитель этой школы."
            )
            % {"person": teacher, "org": organization}
        )


def _check_name_free(
    organization: Organization, name: str, academic_year: int | None, exclude: int | None = None
) -> None:
    if not name:
        raise ValidationError(_("Укажите название класса, например «5А»."))
    clash = SchoolClass.objects.filter(
        organization=organization, name=name, academic_year=academic_year
    )
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise ValidationError(_("Класс «%(name)s» на этот учебный год уже есть.") % {"name": name})


@transaction.atomic
def create_class(
    organization: Organization,
    name: str,
    *,
    actor: Person,
    academic_year: int | None = None,
    is_staff_class: bool = False,
    class_teacher: Person | None = None,
) -> SchoolClass:
    require_admin(actor, organization)
    name = name.strip()
    _check_name_free(organization, name, academic_year)
    _check_class_teacher(organization, class_teacher)
    school_class = SchoolClass(
        organization=organization,
        name=name,
        academic_year=academic_year,
        is_staff_class=is_staff_class,
        class_teacher=class_teacher,
    )
    school_class.full_clean()
    school_class.save()
    record_audit(
        "class.created",
        actor=actor,
        organization=organization,
        school_class=name,
        academic_year=academic_year,
    )
    return school_class


@dataclass
class PlanResult:
    created: list[SchoolClass] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)


@transaction.atomic
def create_classes(
    organization: Organization,
    plan: str,
    *,
    actor: Person,
    academic_year: int | None,
    with_staff_class: bool = False,
) -> PlanResult:
    """Create the classes of a staffing plan; classes that exist already are left as they are."""
    require_admin(actor, organization)
    wanted = [(name, False) for name in staffing_plan_names(plan)] if plan.strip() else []
    if with_staff_class:
        wanted.insert(0, (STAFF_CLASS_NAME, True))
    if not wanted:
        raise ValidationError(_("Укажите классы, например «1А–11В» или «5А, 5Б, 6А»."))
    present = set(
        SchoolClass.objects.filter(
            organization=organization, academic_year=academic_year
        ).values_list("name", flat=True)
    )
    result = PlanResult()
    for name, is_staff_class in wanted:
        if name in present:
            result.existing.append(name)
            continue
        result.created.append(
            SchoolClass.objects.create(
                organization=organization,
                name=name,
                academic_year=academic_year,
                is_staff_class=is_staff_class,
            )
        )
    if result.created:
        record_audit(
            "class.created_in_bulk",
            actor=actor,
            organization=organization,
            classes=[school_class.name for school_class in result.created],
            academic_year=academic_year,
        )
    return result


@transaction.atomic
def update_class(
    school_class: SchoolClass,
    *,
    actor: Person,
    name: str,
    academic_year: int | None,
    class_teacher: Person | None,
    is_staff_class: bool,
) -> SchoolClass:
    organization = school_class.organization
    require_admin(actor, organization)
    name = name.strip()
    _check_name_free(organization, name, academic_year, exclude=school_class.pk)
    _check_class_teacher(organization, class_teacher)
    before = {
        "name": school_class.name,
        "academic_year": school_class.academic_year,
        "class_teacher": school_class.class_teacher_id,
        "is_staff_class": school_class.is_staff_class,
    }
    school_class.name = name
    school_class.academic_year = academic_year
    school_class.class_teacher = class_teacher
    school_class.is_staff_class = is_staff_class
    school_class.full_clean()
    school_class.save()
    after = {
        "name": name,
        "academic_year": academic_year,
        "class_teacher": class_teacher.pk if class_teacher else None,
        "is_staff_class": is_staff_class,
    }
    changed = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if changed:
        record_audit(
            "class.updated",
            actor=actor,
            organization=organization,
            school_class=school_class.pk,
            changes=changed,
        )
    return school_class
