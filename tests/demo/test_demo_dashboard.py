"""The dashboard's cost in SQL and its 12-week trend on the demo district (the rest is in
tests/monitoring/test_dashboard_queries.py): here, so that the district seeded once for
tests/demo serves these tests too instead of being seeded again (two to four minutes)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from parta.accounts.models import Person, Role, RoleGrant
from parta.accounts.services import grant_role
from parta.demo.services import PHONE_AUTHORITY, DemoDistrict
from parta.monitoring.engine import weekly_report, weekly_reports
from parta.monitoring.scopes import Scope
from parta.monitoring.weeks import Week
from parta.structure.models import Organization
from tests.demo.conftest import NOW, SeededDistrict
from tests.factories import local, make_member
from tests.monitoring.test_dashboard_queries import MAX_STATEMENTS, _page_statements, _weeks_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(seeded_district: SeededDistrict) -> DemoDistrict:
    return seeded_district.demo


def test_the_demo_district_page_takes_at_most_30_statements(client: Client, demo: DemoDistrict):
    officer = Person.objects.get(phone=PHONE_AUTHORITY)
    client.force_login(officer)
    url = f"/monitoring/district/{demo.district.pk}/"
    statements = _page_statements(client, url, "2026-W48")
    assert len(statements) <= MAX_STATEMENTS, "\n".join(s[:120] for s in statements)


def _moved_roles(schools: dict[str, Organization]) -> None:
    """Roles that start and end inside the demo's weeks: a teacher who leaves on a Wednesday
    and comes back on a Thursday two weeks later, an admin who teaches from a Tuesday to a
    Friday, a teacher who joins mid-week."""
    s01, s02 = schools["s01"], schools["s02"]
    leaver = (
        RoleGrant.objects.filter(
            organization=s01, role=Role.TEACHER, person__messages_written__isnull=False
        )
        .order_by("person_id")
        .first()
    )
    assert leaver is not None
    RoleGrant.objects.filter(pk=leaver.pk).update(valid_to=local("2026-11-04 12:00"))
    grant_role(leaver.person, s01, Role.TEACHER, valid_from=local("2026-11-19 09:00"))
    admin = (
        RoleGrant.objects.filter(organization=s02, role=Role.ADMIN)
        .exclude(person__role_grants__organization=s02, person__role_grants__role=Role.TEACHER)
        .order_by("person_id")
        .first()
    )
    assert admin is not None
    grant_role(
        admin.person,
        s02,
        Role.TEACHER,
        valid_from=local("2026-11-10 10:00"),
        valid_to=local("2026-11-27 15:00"),
    )
    make_member(s02, "teacher", "Новикова Вера Андреевна", since=local("2026-11-25 13:00"))


def test_the_trend_read_at_once_equals_each_week_s_report(demo: DemoDistrict):
    _moved_roles(demo.schools)
    scope = Scope("district", district=demo.district)
    weeks = _weeks_to(Week.containing(NOW - timedelta(days=7), demo.region.zone), 12)

    with CaptureQueriesContext(connection) as twelve:
        together = weekly_reports(scope, weeks)
    with CaptureQueriesContext(connection) as one:
        weekly_report(scope, weeks[-1])

    assert [r.week for r in together] == weeks
    for report in together:
        alone = weekly_report(scope, report.week)
        assert report.organizations == alone.organizations, report.week
        assert report.total == alone.total, report.week
    assert sum(r.total["messages"] for r in together) > 1000  # the weeks are not empty
    # One statement per query for all twelve weeks (one more: the role checks of the calls
    # by teachers whose role changes, which the last week alone may not need).
    assert len(twelve.captured_queries) <= len(one.captured_queries) + 1
