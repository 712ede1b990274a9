"""`parta report`, the API and the downloads give the engine's numbers to those allowed."""

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from parta.accounts.services import grant_role
from parta.monitoring.exports import looks_like_formula
from parta.monitoring.models import ReportAccess
from parta.monitoring.services import open_report
from parta.structure.models import Organization
from tests.factories import local, make_district, make_member, make_org, make_region
from tests.monitoring.builders import build_example

DATA = Path(__file__).parents[2] / "docs" / "examples"
EXPECTED = json.loads((DATA / "example-report-2026-W47.json").read_text(encoding="utf-8"))


@pytest.fixture
def example(db):
    return build_example()


def run_report(*args: str) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out)
    return out.getvalue()


# parta report


def test_cli_json_is_the_spec_report(example):
    assert json.loads(run_report("--week", "2026-W47")) == EXPECTED
    assert json.loads(run_report("--week", "2026-W47", "--format", "json")) == EXPECTED
    assert ReportAccess.objects.count() == 2
    entry = ReportAccess.objects.order_by("pk")[0]
    assert (entry.person, entry.channel, entry.scope, entry.week) == (
        None,
        "cli",
        "platform",
        "2026-W47",
    )


def test_cli_scopes_by_external_id(example):
    only_s2 = json.loads(run_report("--week", "2026-W47", "--org", "s2"))
    assert [r["id"] for r in only_s2["organizations"]] == ["s2"]
    assert only_s2["total"]["teachers"] == 1
    authority = json.loads(run_report("--week", "2026-W47", "--org", "uo"))
    assert authority["organizations"][0]["name"].startswith("МКУ")
    district_id = str(example.s1.district_id)
    by_district = json.loads(run_report("--week", "2026-W47", "--district", district_id))
    assert by_district == EXPECTED


def test_cli_default_week_is_the_last_closed_one(example):
    # Monday 2026-11-23 06:59 UTC is 13:59 in Krasnoyarsk: week 48 is open, 47 closed.
    report = open_report(None, channel="cli", now=datetime(2026, 11, 23, 6, 59, tzinfo=UTC))
    assert str(report.week) == "2026-W47"
    # Sunday 16:59:59 UTC is still Sunday 23:59:59 there: week 47 is not closed yet.
    report = open_report(None, channel="cli", now=datetime(2026, 11, 22, 16, 59, 59, tzinfo=UTC))
    assert str(report.week) == "2026-W46"


def test_cli_csv_has_russian_headers_rows_and_totals(example, tmp_path):
    target = tmp_path / "w47.csv"
    call_command("report", "--week", "2026-W47", "--format", "csv", "--output", str(target))
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Cyrillic right
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, s1, s2, total = rows
    assert header[:6] == ["ID", "Регион", "Район", "Организация", "1. Активность ОО", "Учителей"]
    cells = dict(zip(header, s1, strict=True))
    assert cells["Организация"] == "МБОУ Мотыгинская СОШ №1"
    assert cells["1. Активность ОО"] == "да"
    assert cells["Учителей"] == "5"
    assert cells["3. Учителей, написавших ≥ 3 сообщений за неделю"] == "3"
    assert cells["Сообщений за неделю"] == "23"
    assert dict(zip(header, s2, strict=True))["1. Активность ОО"] == "нет"
    totals = dict(zip(header, total, strict=True))
    assert totals["Организация"] == "Итого: 2 организаций, активных 1"
    assert totals["Учителей"] == "6"
    shares = [v for h, v in zip(header, total, strict=True) if h.endswith("Доля, %")]
    assert shares == ["33.3", "50.0", "16.7", "33.3", "16.7"]


def test_cli_xlsx_is_what_a_district_checks_by_hand(example, tmp_path):
    target = tmp_path / "w47.xlsx"
    call_command("report", "--week", "2026-W47", "--format", "xlsx", "--output", str(target))
    book = load_workbook(target)
    sheet = book["2026-W47"]
    header = [c.value for c in sheet[1]]
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    s1 = dict(zip(header, values[0], strict=True))
    assert s1["ID"] == "s1"
    assert s1["Учителей"] == 5
    assert s1["2. Учителей, создавших ≥ 1 чата"] == 1
    assert s1["Проведённых звонков"] == 4
    total = dict(zip(header, values[-1], strict=True))
    assert total["Учителей"] == 6
    first_share = header.index("2. Доля, %") + 1
    share_cell = sheet.cell(row=len(values) + 1, column=first_share)
    assert share_cell.value == 0.333
    assert share_cell.number_format == "0.0%"
    assert sheet.freeze_panes == "E2"
    assert sheet.column_dimensions["D"].width >= 20
    assert "Пояснения" in book.sheetnames


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2026-48"], "ГГГГ-Wнн"),
        (["--week", "2026-W54"], "нет недели 54"),
        (["--district", "nowhere"], "«nowhere» не найден"),
        (["--kinds", "school,church"], "church"),
        (["--format", "xlsx"], "--output"),
    ],
)
def test_cli_bad_input_gets_a_clear_error_and_logs_nothing(example, args, message):
    with pytest.raises(CommandError, match=message):
        run_report(*args)
    assert not ReportAccess.objects.exists()


def test_cli_refuses_two_scopes_at_once(example):
    with pytest.raises(CommandError, match="not allowed with argument"):
        run_report("--region", "1", "--district", "1")


# Who sees what (API and downloads)


@pytest.fixture
def people(example):
    uo = example.uo
    region = make_region("Московская область", "Europe/Moscow")
    far = make_org(make_district(region, "Одинцовский"), "МБОУ Одинцовская СОШ")
    since = local("2026-09-01 00:00")
    officer = make_member(uo, "staff", "Смолина Наталья Николаевна", since=since)
    operator = make_member(far, "teacher", "Оператор Платформы")
    operator.is_staff = True
    operator.save()
    return {
        "operator": operator,
        "officer": officer,
        "head": example.people["head"],  # admin+teacher of s1, teacher of the authority
        "t2": example.people["t2"],  # teacher of s1 and s2
        "student": example.people["st1"],
        "parent": example.people["p1"],
        "far": make_member(far, "admin", "Далёкий Админ"),
        "far_school": far,
    }


def api(client, person, **params):
    client.force_login(person)
    return client.get("/api/monitoring/report", {"week": "2026-W47", **params})


@pytest.mark.parametrize(
    ("who", "params", "status", "ids"),
    [
        ("operator", {}, 200, ["s1", "s2", None]),
        ("officer", {}, 200, ["s1", "s2"]),
        ("officer", {"org": "s2"}, 200, ["s2"]),
        ("officer", {"district": "far"}, 400, None),
        ("head", {}, 200, ["s1"]),
        ("head", {"org": "s2"}, 403, None),
        ("head", {"district": "d"}, 403, None),
        ("t2", {"org": "s2"}, 200, ["s2"]),
        ("student", {}, 403, None),
        ("parent", {"org": "s1"}, 403, None),
        ("far", {"org": "s1"}, 403, None),
    ],
)
def test_api_shows_each_person_only_what_they_may_see(
    client, people, example, who, params, status, ids
):
    if params.get("district") == "d":
        params = {"district": str(example.s1.district_id)}
    response = api(client, people[who], **params)
    assert response.status_code == status, response.content
    if status == 200:
        got = [r["id"] for r in response.json()["organizations"]]
        expected = [i if i is not None else str(people["far_school"].pk) for i in ids]
        assert sorted(got) == sorted(expected)
    else:
        assert response.json()["detail"]


def test_api_numbers_equal_the_cli_and_the_view_is_logged(client, people):
    response = api(client, people["officer"])
    assert response.json() == EXPECTED
    entry = ReportAccess.objects.get()
    assert (entry.person, entry.channel, entry.week) == (people["officer"], "api", "2026-W47")
    assert entry.scope.startswith("district:")


def test_api_refuses_anonymous_and_bad_weeks(client, people):
    assert client.get("/api/monitoring/report").status_code == 401
    response = api(client, people["operator"], week="48")
    assert response.status_code == 400
    assert "2026-W48" in response.json()["detail"]


def test_api_schema_documents_the_report(client):
    schema = client.get("/api/openapi.json").json()
    operation = schema["paths"]["/api/monitoring/report"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"week", "region", "district", "org"}
    assert (
        "teachers_3_messages_pct"
        in schema["components"]["schemas"]["OrganizationRow"]["properties"]
    )


def test_downloads_are_the_same_numbers_for_allowed_people_only(client, people):
    client.force_login(people["officer"])
    response = client.get("/monitoring/report.csv", {"week": "2026-W47"})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('-2026-W47.csv"')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:-1]] == ["s1", "s2"]
    response = client.get("/monitoring/report.xlsx", {"week": "2026-W47", "org": "s1"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content))["2026-W47"]
    assert sheet["A2"].value == "s1"
    assert list(ReportAccess.objects.values_list("channel", flat=True).order_by("at")) == [
        "csv",
        "xlsx",
    ]
    client.force_login(people["student"])
    assert client.get("/monitoring/report.csv", {"week": "2026-W47"}).status_code == 403
    client.logout()
    assert client.get("/monitoring/report.csv").status_code == 302


def test_authority_staff_role_gives_district_but_teacher_role_does_not(db, example):
    officer = make_member(example.uo, "teacher", "Учитель Управления")
    with pytest.raises(PermissionError):
        open_report(officer, channel="api", week="2026-W47", district=str(example.s1.district_id))
    grant_role(officer, example.uo, "admin", valid_from=local("2026-09-01 00:00"))
    report = open_report(officer, channel="api", week="2026-W47")
    assert [r["id"] for r in report.organizations] == ["s1", "s2"]
    assert example.uo.kind == Organization.Kind.AUTHORITY


def test_names_that_look_like_formulas_stay_text_in_xlsx_and_csv(db, tmp_path):
    district = make_district(make_region("@Красноярский край"), "-Мотыгинский район")
    school = make_org(district, "=1+1 МБОУ")
    make_member(school, "teacher", "-Иванов Иван Иванович")
    call_command(
        "report", "--week", "2026-W47", "--format", "xlsx", "--output", tmp_path / "w.xlsx"
    )
    sheet = load_workbook(tmp_path / "w.xlsx")["2026-W47"]
    header = [c.value for c in sheet[1]]
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    for column, name in [
        ("Организация", "=1+1 МБОУ"),
        ("Район", "-Мотыгинский район"),
        ("Регион", "@Красноярский край"),
    ]:
        assert (row[column].value, row[column].data_type) == (name, "s")
    assert (row["Учителей"].value, row["Учителей"].data_type) == (1, "n")

    call_command("report", "--week", "2026-W47", "--format", "csv", "--output", tmp_path / "w.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "w.csv").read_text(encoding="utf-8-sig"))))
    cells = dict(zip(rows[0], rows[1], strict=True))
    assert (cells["Организация"], cells["Район"], cells["Регион"]) == (
        "'=1+1 МБОУ",
        "'-Мотыгинский район",
        "'@Красноярский край",
    )
    assert cells["Учителей"] == "1"


@pytest.mark.parametrize(
    ("value", "formula"),
    [("=SUM(A1)", True), ("+7", True), ("\tx", True), ("\rx", True), ("МБОУ", False), (-5, False)],
)
def test_only_text_is_taken_for_a_formula(value, formula):
    assert looks_like_formula(value) is formula
