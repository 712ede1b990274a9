"""Reads about an organization's structure: its classes and the academic year."""

from datetime import datetime, tzinfo

from django.db.models import QuerySet
from django.utils import timezone

from parta.structure.models import Organization, SchoolClass

# From this month the new academic year is the current one: classes for September are
# planned in the summer.
ACADEMIC_YEAR_FIRST_MONTH = 7


def academic_year_at(when: datetime, zone: tzinfo) -> int:
    """The year the academic year of `when` started (2026 for 2026/27), in time zone `zone`."""
    local = timezone.localtime(when, zone)
    return local.year if local.month >= ACADEMIC_YEAR_FIRST_MONTH else local.year - 1


def current_academic_year(organization: Organization, when: datetime | None = None) -> int:
    """The academic year of `when` (default: now) in the school's own time zone."""
    return academic_year_at(when or timezone.now(), organization.district.region.zone)


def classes_of(
    organization: Organization, academic_year: int | None = None
) -> QuerySet[SchoolClass]:
    classes = SchoolClass.objects.filter(organization=organization).select_related("class_teacher")
    if academic_year is not None:
        classes = classes.filter(academic_year=academic_year)
    return classes
