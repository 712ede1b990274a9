"""The dashboard's cost in SQL, counted the way the send path is (tests/messaging/
test_send_queries.py): a district's page in at most 30 statements whatever the number of its
schools, with rights read once and the 12-week trend in one run of the engine; and that run
gives, week by week and school by school, what the engine gives for each week alone."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from parta.accounts.models import Person, Role, RoleGrant
from parta.accounts.services import enrol_student, grant_role
from parta.calls.services import join_call, leave_call, start_call
from parta.demo.activity import seed_activity
from parta.demo.services import PHONE_AUTHORITY, DemoDistrict, seed_demo
from parta.messaging.services import create_conversation, send_message
from parta.monitoring.engine import weekly_report, weekly_reports
from parta.monitoring.models import ReportAccess
from parta.monitoring.scopes import Scope
from parta.monitoring.services import open_report
from parta.monitoring.weeks import Week
from parta.structure.models import Organization
from tests.demo.conftest import NOW
from tests.factories import local, make_class, make_district, make_member, make_org
from tests.monitoring.builders import build_example

pytestmark = pytest.mark.django_db

MAX_STATEMENTS = 30
# Transaction control is not a query: BEGIN/COMMIT in production, savepoints inside the test's
# own transaction (the report's atomic block nests in it).
CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Iterator[DemoDistrict]:
    """The demo district with its past weeks, seeded once for this module as tests/demo seeds
    it for its package, and rolled back after it: the other tests here never see it."""
    with django_db_blocker.unblock(), transaction.atomic():
        district = seed_demo()
        seed_activity(district.schools, now=NOW)
        yield district
        transaction.set_rollback(True)


def _page_statements(client: Client, url: str, week: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"week": week})
    assert response.status_code == 200, response.content[:300]
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(CONTROL)]


def _active_school(district, n: int) -> Organization:
    """A school with an admin, a teacher, a class with a student, a class chat with the
    week's messages and a held call: every query of the page has rows for it."""
    school = make_org(district, f"МБОУ СОШ №{n}", external_id=f"q{n}")
    make_member(school, "admin", f"Админ{n} Ольга")
    teacher = make_member(school, "teacher", f"Учитель{n} Анна")
    student = make_member(school, "student", f"Ученик{n} Иван")
    enrol_student(student, make_class(school, "5А"), at=local("2026-09-01 00:00"))
    chat = create_conversation(
        teacher, school, title="5А", members=[student], at=local("2026-11-16 08:00")
    )
    for hour in (9, 10, 11):
        send_message(teacher, chat, "Домашнее задание", at=local(f"2026-11-17 {hour:02d}:00"))
    call = start_call(teacher, school, conversation=chat, at=local("2026-11-18 10:00"))
    join_call(call, student, at=local("2026-11-18 10:01"))
    leave_call(call, student, at=local("2026-11-18 10:20"))
    leave_call(call, teacher, at=local("2026-11-18 10:20"))
    return school


def test_a_district_page_takes_at_most_30_statements_whatever_its_schools(client):
    district = make_district()
    authority = make_org(district, "МКУ «Управление образования»", kind="authority")
    for n in range(1, 4):
        _active_school(district, n)
    officer = make_member(authority, "admin", "Смолина Наталья Николаевна")
    client.force_login(officer)
    url = f"/monitoring/district/{district.pk}/"

    three = _page_statements(client, url, "2026-W47")
    for n in range(4, 11):
        _active_school(district, n)
    ten = _page_statements(client, url, "2026-W47")

    assert len(three) <= MAX_STATEMENTS, "\n".join(s[:120] for s in three)
    assert len(ten) == len(three), "\n".join(s[:120] for s in ten)
    # The view was logged once per page, as before.
    assert ReportAccess.objects.filter(person=officer, channel="page").count() == 2


def test_the_page_s_trend_is_the_engine_s_weeks_on_the_worked_example():
    """The example's W47 has a teacher whose role ends on a Wednesday and an admin who
    becomes a teacher the same day."""
    example = build_example()
    report = open_report(
        None, channel="cli", district=str(example.s1.district_id), week="2026-W48", history=11
    )
    assert [r.week for r in report.history] == _weeks_to(Week(2026, 47), 11)
    scope = Scope("district", district=example.s1.district)
    for each in [*report.history, report]:
        assert each.as_dict() == weekly_report(scope, each.week).as_dict(), each.week
    assert ReportAccess.objects.count() == 1


def test_the_demo_district_page_takes_at_most_30_statements(client, demo):
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


def _weeks_to(last: Week, count: int) -> list[Week]:
    weeks = [last]
    while len(weeks) < count:
        weeks.insert(0, weeks[0].previous())
    return weeks


def test_the_trend_read_at_once_equals_each_week_s_report(demo):
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
