"""Dashboards show the engine's numbers to the people allowed, with trends and the checklist."""

import pytest

from parta.monitoring.models import ReportAccess
from parta.structure.models import Organization
from tests.factories import make_district, make_member, make_org, make_region
from tests.monitoring.builders import build_example
from tests.monitoring.test_report_outputs import EXPECTED


@pytest.fixture
def example(db):
    return build_example()


def page(client, person, url, **params):
    client.force_login(person)
    return client.get(url, {"week": "2026-W47", **params})


def test_school_dashboard_for_its_admin(client, example):
    response = page(client, example.people["head"], "/monitoring/organization/s1/")
    assert response.status_code == 200
    assert response.context["row"] == EXPECTED["organizations"][0]
    teachers = {
        t.person.full_name: (t.chats, t.messages, t.calls) for t in response.context["teachers"]
    }
    assert teachers == {
        "Иванова Анна Петровна": (0, 10, 0),
        "Петров Олег Ильич": (0, 0, 0),  # wrote and created before becoming a teacher
        "Смирнова Елена Викторовна": (1, 3, 1),
        "Кузнецов Денис Андреевич": (0, 3, 3),
        "Орлова Мария Сергеевна": (0, 2, 0),  # her chat was deleted; third message after her role
    }
    html = response.content.decode()
    assert "<svg" in html and "≥ 3 сообщений" in html
    assert 'href="/monitoring/report.xlsx?week=2026-W47&amp;org=s1"' in html
    assert f'href="/org/{example.s1.pk}/profile/"' in html
    assert [s.key for s in response.context["checklist"]][:3] == [
        "admin_signed_in",
        "profile_complete",
        "classes_created",
    ]
    entry = ReportAccess.objects.get()
    assert (entry.channel, entry.scope, entry.week) == ("page", "org:s1", "2026-W47")


def test_trend_has_twelve_weeks_ending_with_the_chosen_one(client, example):
    response = page(client, example.people["head"], "/monitoring/organization/s1/")
    chart = str(response.context["chart"])
    assert ">W47<" in chart and ">W37<" in chart and ">W48<" not in chart
    assert "≥ 3 сообщений: 60%" in chart  # s1's share in W47


def test_a_plain_teacher_sees_the_school_numbers_but_not_colleagues_by_name(client, example):
    response = page(client, example.people["t1"], "/monitoring/organization/s1/")
    assert response.status_code == 200
    assert "teachers" not in response.context
    assert "Кузнецов" not in response.content.decode()
    # The checklist's steps lead to the admin's pages: she sees them without the links.
    assert response.context["checklist"]
    assert 'href="/org/' not in response.content.decode()


def test_district_dashboard_sorts_colours_and_drills_down(client, example):
    officer = make_member(example.uo, "staff", "Смолина Наталья Николаевна")
    client.force_login(officer)
    home = client.get("/monitoring/")
    district_id = example.s1.district_id
    assert home.status_code == 302
    assert home["Location"] == f"/monitoring/district/{district_id}/"
    response = page(
        client,
        officer,
        f"/monitoring/district/{district_id}/",
        sort="teachers_with_chat_pct",
        dir="desc",
    )
    assert response.status_code == 200
    assert [r["id"] for r in response.context["report"].organizations] == ["s2", "s1"]
    html = response.content.decode()
    assert 'href="/monitoring/organization/s1/?week=2026-W47"' in html
    assert 'class="share-high">1 <small>100,0 %</small>' in html  # s2: 1 of 1 made a chat
    matrix = dict(
        (org.external_id, {s.key: s.done for s in steps})
        for org, steps in response.context["matrix"]
    )
    assert set(matrix) == {"s1", "s2"}
    assert matrix["s1"]["call_held"] is True and matrix["s2"]["call_held"] is False
    assert "teachers" not in response.context  # an authority sees numbers, not names
    assert f'href="/messages/letters/{example.uo.pk}/"' not in html  # staff, not admin
    chief = make_member(example.uo, "admin", "Начальник Управления")
    html = page(client, chief, f"/monitoring/district/{district_id}/").content.decode()
    assert f'href="/messages/letters/{example.uo.pk}/"' in html
    drill = page(client, officer, "/monitoring/organization/s2/")
    assert drill.status_code == 200 and "teachers" not in drill.context


def test_regional_authority_sees_its_region_by_district(client, example):
    region = example.s1.district.region
    other = make_org(make_district(region, "Енисейский район"), "МБОУ Енисейская СОШ")
    ministry = make_org(
        example.s1.district,
        "Министерство образования",
        kind=Organization.Kind.AUTHORITY,
        oversees_region=True,
    )
    minister = make_member(ministry, "admin", "Министр Образования")
    client.force_login(minister)
    assert client.get("/monitoring/")["Location"] == f"/monitoring/region/{region.pk}/"
    response = page(client, minister, f"/monitoring/region/{region.pk}/")
    assert response.status_code == 200
    districts = {d["district"]: d for d in response.context["districts"]}
    assert districts["Мотыгинский район"]["teachers"] == 6
    assert districts["Енисейский район"]["organizations"] == 1
    assert page(client, minister, f"/monitoring/organization/{other.pk}/").status_code == 200
    far = make_org(make_district(make_region("Тыва", "Asia/Krasnoyarsk"), "Кызыл"), "Школа")
    assert page(client, minister, f"/monitoring/organization/{far.pk}/").status_code == 403


def test_who_may_not_see_dashboards(client, example):
    for who in ("st1", "p1"):
        client.force_login(example.people[who])
        assert client.get("/monitoring/").status_code == 403
    response = page(client, example.people["t2"], f"/monitoring/district/{example.s1.district_id}/")
    assert response.status_code == 403
    client.logout()
    assert client.get("/monitoring/organization/s1/").status_code == 302


def test_operator_sees_the_platform(client, example):
    operator = make_member(example.s2, "staff", "Оператор")
    operator.is_staff = True
    operator.save()
    client.force_login(operator)
    assert client.get("/monitoring/")["Location"] == "/monitoring/platform/all/"
    response = page(client, operator, "/monitoring/platform/all/")
    assert response.status_code == 200
    assert response.context["report"].total == EXPECTED["total"]
    assert [d["district"] for d in response.context["districts"]] == ["Мотыгинский район"]


def test_bad_week_is_a_clear_error(client, example):
    response = page(client, example.people["head"], "/monitoring/organization/s1/", week="W47")
    assert response.status_code == 400
    assert "2026-W48" in response.content.decode()


def test_external_ids_with_colons_work_in_links(client, example):
    example.s2.external_id = "demo:org:s05"
    example.s2.save()
    officer = make_member(example.uo, "staff", "Смолина Наталья Николаевна")
    html = page(client, officer, f"/monitoring/district/{example.s1.district_id}/").content
    assert 'href="/monitoring/organization/demo:org:s05/?week=2026-W47"' in html.decode()
    assert page(client, officer, "/monitoring/organization/demo:org:s05/").status_code == 200


def test_the_indicators_link_shows_only_to_those_who_may_see_them(client, example):
    client.force_login(example.people["t1"])
    assert 'href="/monitoring/"' in client.get("/").content.decode()
    client.force_login(example.people["st1"])
    page_html = client.get("/").content.decode()
    assert 'href="/monitoring/"' not in page_html
    assert 'href="/calls/"' in page_html
