"""The dashboard's cost in SQL, counted the way the send path is (tests/messaging/
test_send_queries.py): a district's page in at most 30 statements whatever the number of its
schools, with rights read once and the 12-week trend in one run of the engine; and that run
gives, week by week and school by school, what the engine gives for each week alone (on the
demo district: tests/demo/test_demo_dashboard.py, which shares tests/demo's seeding)."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from parta.accounts.services import enrol_student
from parta.calls.services import join_call, leave_call, start_call
from parta.messaging.services import create_conversation, send_message
from parta.monitoring.engine import weekly_report
from parta.monitoring.models import ReportAccess
from parta.monitoring.scopes import Scope
from parta.monitoring.services import open_report
from parta.monitoring.weeks import Week
from parta.structure.models import Organization
from tests.factories import local, make_class, make_district, make_member, make_org
from tests.monitoring.builders import build_example

pytestmark = pytest.mark.django_db

MAX_STATEMENTS = 30
# Transaction control is not a query: BEGIN/COMMIT in production, savepoints inside the test's
# own transaction (the report's atomic block nests in it).
CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


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
    join_call(call, teacher, at=local("2026-11-18 10:00"))
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


def _weeks_to(last: Week, count: int) -> list[Week]:
    weeks = [last]
    while len(weeks) < count:
        weeks.insert(0, weeks[0].previous())
    return weeks
