"""Structure API (/api/structure/): an organization's profile and classes, for its admins."""

from typing import Annotated

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from parta.accounts import services as accounts
from parta.accounts.models import Person
from parta.accounts.selectors import admin_organization, teachers_of
from parta.api_errors import Id, signed_in_person
from parta.schools import services
from parta.structure.models import Organization, SchoolClass
from parta.structure.selectors import classes_of

router = Router(tags=["structure"])

# The year a school year starts in; bounded so no number overflows the database's column.
AcademicYear = Annotated[int, Field(ge=1900, le=2200)]


class ProfileOut(Schema):
    id: int
    full_name: str
    short_name: str
    inn: str
    ogrn: str
    kpp: str
    address: str
    phone: str
    email: str
    site: str
    head_full_name: str


class ProfileIn(Schema):
    full_name: str | None = None
    short_name: str | None = None
    inn: str | None = None
    ogrn: str | None = None
    kpp: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    site: str | None = None
    head_full_name: str | None = None


class ClassOut(Schema):
    id: int
    name: str
    grade: int | None
    letter: str
    academic_year: int | None
    is_staff_class: bool
    class_teacher_id: int | None


class ClassIn(Schema):
    name: str
    academic_year: AcademicYear | None = None
    is_staff_class: bool = False
    class_teacher_id: Id | None = None


class PlanIn(Schema):
    plan: str = ""
    academic_year: AcademicYear | None = None
    with_staff_class: bool = False


class PlanOut(Schema):
    created: list[ClassOut]
    existing: list[str]


class MoveIn(Schema):
    student_id: Id


def _teacher(organization: Organization, person_id: int | None) -> Person | None:
    if person_id is None:
        return None
    teacher = teachers_of(organization, timezone.now()).filter(pk=person_id).first()
    if teacher is None:
        raise HttpError(400, gettext("Классный руководитель — учитель этой организации."))
    return teacher


@router.get("/organizations/{organization_id}/profile", response=ProfileOut)
def get_profile(request: HttpRequest, organization_id: Id) -> Organization:
    return admin_organization(signed_in_person(request), organization_id)


@router.patch("/organizations/{organization_id}/profile", response=ProfileOut)
def update_profile(request: HttpRequest, organization_id: Id, payload: ProfileIn) -> Organization:
    organization = admin_organization(signed_in_person(request), organization_id)
    return services.update_profile(
        organization, actor=signed_in_person(request), **payload.dict(exclude_none=True)
    )


@router.get("/organizations/{organization_id}/classes", response=list[ClassOut])
def list_classes(request: HttpRequest, organization_id: Id) -> list[SchoolClass]:
    return list(classes_of(admin_organization(signed_in_person(request), organization_id)))


@router.post("/organizations/{organization_id}/classes", response={201: ClassOut})
def create_class(request: HttpRequest, organization_id: Id, payload: ClassIn) -> Status[object]:
    organization = admin_organization(signed_in_person(request), organization_id)
    created = services.create_class(
        organization,
        payload.name,
        actor=signed_in_person(request),
        academic_year=payload.academic_year,
        is_staff_class=payload.is_staff_class,
        class_teacher=_teacher(organization, payload.class_teacher_id),
    )
    return Status(201, created)


@router.post("/organizations/{organization_id}/classes/bulk", response={201: PlanOut})
def create_classes(request: HttpRequest, organization_id: Id, payload: PlanIn) -> Status[object]:
    """Classes of a staffing plan, e.g. {"plan": "1А–11В", "with_staff_class": true}."""
    organization = admin_organization(signed_in_person(request), organization_id)
    result = services.create_classes(
        organization,
        payload.plan,
        actor=signed_in_person(request),
        academic_year=payload.academic_year,
        with_staff_class=payload.with_staff_class,
    )
    return Status(
        201,
        PlanOut(
            created=[ClassOut.model_validate(school_class) for school_class in result.created],
            existing=result.existing,
        ),
    )


@router.put("/classes/{class_id}", response=ClassOut)
def update_class(request: HttpRequest, class_id: Id, payload: ClassIn) -> SchoolClass:
    school_class = get_object_or_404(SchoolClass, pk=class_id)
    organization = admin_organization(signed_in_person(request), school_class.organization_id)
    return services.update_class(
        school_class,
        actor=signed_in_person(request),
        name=payload.name,
        academic_year=payload.academic_year,
        class_teacher=_teacher(organization, payload.class_teacher_id),
        is_staff_class=payload.is_staff_class,
    )


@router.post("/classes/{class_id}/students", response=ClassOut)
def move_student(request: HttpRequest, class_id: Id, payload: MoveIn) -> SchoolClass:
    """Move a student of the school into this class from now on."""
    school_class = get_object_or_404(SchoolClass, pk=class_id)
    admin_organization(signed_in_person(request), school_class.organization_id)
    student = get_object_or_404(Person, pk=payload.student_id)
    accounts.move_student(student, school_class, actor=signed_in_person(request))
    return school_class
