"""The indicator registry is docs/indicators.md, and every output labels its numbers from it:
the files, the API schema, the pages and the digests."""

import csv
import io
import re

import pytest
from django.core.management import call_command
from django.utils import translation
from openpyxl import load_workbook

from parta.monitoring.digests import build_digest
from parta.monitoring.exports import ORGANIZATION_COLUMNS, columns
from parta.monitoring.indicators import INDICATORS, SHARED, TEACHERS, Kind
from parta.monitoring.weeks import Week
from tests.factories import local, make_member
from tests.monitoring.builders import build_example
from tests.monitoring.test_docs_examples import parts, table_after
from tests.monitoring.test_report_outputs import EXPECTED

S1 = EXPECTED["organizations"][0]  # the worked example's school, in 2026-W47
W47 = Week(2026, 47)


def in_language(lang: str, lazy: object) -> str:
    with translation.override(lang):
        return str(lazy)


def letter_numbers(text: str, header: str) -> dict[str, int | None]:
    """key → the number the indicator table gives it («2. учителей…» → 2, «—» → None)."""
    found = {}
    for key, letter, _rule in table_after(text, header):
        number = re.match(r"(\d+)\.", letter)
        found[key.strip("`")] = int(number.group(1)) if number else None
    return found


@pytest.mark.parametrize(
    ("lang", "header"),
    [("ru", "| ключ | в письме | правило |"), ("en", "| key | letter | rule |")],
)
def test_the_registry_numbers_the_indicators_as_the_docs_do(lang, header):
    numbers = letter_numbers(parts("indicators.md")[lang], header)
    assert numbers == {
        "active": 1,
        "teachers": None,
        "teachers_with_chat": 2,
        "teachers_3_messages": 3,
        "teachers_10_messages": 4,
        "teachers_1_call": 5,
        "teachers_3_calls": 6,
    }
    # Every indicator of the letter's table is in the registry, with its number; the
    # context counts (admins … broadcasts_held) are not the letter's and have none.
    registry = {each.key: each.number for each in INDICATORS}
    assert {key: registry[key] for key in numbers} == numbers
    assert {key for key, number in registry.items() if key not in numbers} == {
        "admins",
        "students",
        "parents",
        "chats",
        "messages",
        "calls_held",
        "broadcasts_held",
    }
    assert all(registry[key] is None for key in registry if key not in numbers)


@pytest.mark.parametrize(
    ("lang", "header", "column"),
    [("ru", "| ключ | столбец |", 1), ("en", "| key | column | English label |", 2)],
)
def test_the_registry_labels_are_the_column_table_of_the_docs(lang, header, column):
    documented = [
        (cells[0].strip("`"), cells[column])
        for cells in table_after(parts("indicators.md")[lang], header)
    ]
    expected = []
    for each in INDICATORS:
        expected.append((each.key, in_language(lang, each.heading)))
        if each.has_share:
            expected.append((each.pct_key, in_language(lang, each.pct_heading)))
    assert documented[len(ORGANIZATION_COLUMNS) :] == expected
    if lang == "ru":
        assert documented[: len(ORGANIZATION_COLUMNS)] == list(ORGANIZATION_COLUMNS)


def test_the_kinds_give_the_shares_and_the_sums():
    assert [each.key for each in SHARED] == [
        key for key in S1 if key.startswith("teachers_") and not key.endswith("_pct")
    ]
    assert {each.pct_key for each in SHARED} == {key for key in S1 if key.endswith("_pct")}
    # A report row carries the organization, each indicator and each share, nothing else.
    keys = {key for key, _header in ORGANIZATION_COLUMNS}
    keys |= {each.key for each in INDICATORS} | {each.pct_key for each in SHARED}
    assert set(S1) == keys
    # A total counts the flag instead of summing it.
    assert set(EXPECTED["total"]) == (keys - {"id", "region", "district", "name", "active"}) | {
        "organizations",
        "active_organizations",
    }
    assert TEACHERS.kind is Kind.TEACHERS


# The outputs


@pytest.fixture
def example(db):
    return build_example()


def test_csv_and_xlsx_columns_are_the_registry_in_russian(example, tmp_path):
    with translation.override("en"):  # a reader in English still gets the fixed format
        expected = [header for _key, header, _kind in columns()]
        call_command(
            "report", "--week", "2026-W47", "--format", "csv", "--output", str(tmp_path / "w.csv")
        )
        call_command(
            "report", "--week", "2026-W47", "--format", "xlsx", "--output", str(tmp_path / "w.xlsx")
        )
    rows = list(csv.reader(io.StringIO((tmp_path / "w.csv").read_text(encoding="utf-8-sig"))))
    sheet = load_workbook(tmp_path / "w.xlsx")["2026-W47"]
    xlsx_header = [cell.value for cell in sheet[1]]
    assert rows[0] == xlsx_header == expected
    csv_s1 = dict(zip(rows[0], rows[1], strict=True))
    xlsx_s1 = dict(zip(xlsx_header, [cell.value for cell in sheet[2]], strict=True))
    for each in INDICATORS:
        header = in_language("ru", each.heading)
        if each.kind is Kind.FLAG:
            assert csv_s1[header] == xlsx_s1[header] == "да"
        else:
            assert csv_s1[header] == str(S1[each.key])
            assert xlsx_s1[header] == S1[each.key]
    assert csv_s1["3. Учителей, написавших ≥ 3 сообщений за неделю"] == "3"
    assert csv_s1["3. Доля, %"] == "60.0"
    assert xlsx_s1["Родителей"] == 1


def test_the_api_schema_is_the_registry(client, db):
    schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
    row = schemas["OrganizationRow"]["properties"]
    total = schemas["TotalRow"]["properties"]
    numbers = [key for key, _header, _kind in columns()[len(ORGANIZATION_COLUMNS) :]]
    assert list(row) == ["id", "name", "district", "region", *numbers]  # as a report row has them
    assert list(total) == ["organizations", "active_organizations", *numbers[1:]]  # not `active`
    assert row["active"] == {
        "description": "1. Активность ОО",
        "title": "Active",
        "type": "boolean",
    }
    assert row["teachers_1_call"]["description"] == "5. Учителей, создавших ≥ 1 звонка за неделю"
    assert row["teachers_1_call"]["type"] == "integer"
    assert row["teachers_1_call_pct"]["description"] == "5. Доля, %"
    assert row["teachers_1_call_pct"]["anyOf"] == [{"type": "number"}, {"type": "null"}]
    assert total["calls_held"]["description"] == "Проведённых звонков"


def test_the_school_page_labels_every_indicator_from_the_registry(client, example):
    client.force_login(example.people["head"])
    html = client.get("/monitoring/organization/s1/", {"week": "2026-W47"}).content.decode()
    compact = re.sub(r">\s+<", "><", html)
    assert "<tr><th>1. Активность ОО</th><td>активна</td></tr>" in compact
    assert "<tr><th>Учителей</th><td>5</td></tr>" in compact
    assert (
        '<tr><th>3. Учителей, написавших ≥ 3 сообщений за неделю</th><td class="share-high">'
        "3 · 60,0 %</td></tr>"
    ) in compact
    assert (
        '<tr><th>6. Учителей, создавших ≥ 3 звонков за неделю</th><td class="share-mid">' in compact
    )
    assert "<tr><th>Администраторов</th><td>2</td></tr>" in compact
    assert "<tr><th>Проведённых звонков</th><td>4</td></tr>" in compact
    for each in INDICATORS:
        assert f"<th>{each.heading}</th>" in compact, each.key
    # The chart's legend gives each share its short label.
    assert "<title>≥ 1 звонка: 40%</title>" in html


def test_the_district_page_heads_its_tables_with_the_short_labels(client, example):
    officer = make_member(
        example.uo, "staff", "Смолина Наталья Николаевна", since=local("2026-09-01 00:00")
    )
    client.force_login(officer)
    response = client.get(f"/monitoring/district/{example.s1.district_id}/", {"week": "2026-W47"})
    headers = re.findall(r"<th><a [^>]*>([^<]+)</a></th>", response.content.decode())
    assert [h.strip() for h in headers] == [
        "Организация ↑",
        "Активна",
        "Учителей",
        "создали чат",
        "≥ 3 сообщений",
        "≥ 10 сообщений",
        "≥ 1 звонка",
        "≥ 3 звонков",
    ]


def test_the_school_page_in_english_labels_as_the_english_docs(client, example):
    client.force_login(example.people["head"])
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/monitoring/organization/s1/", {"week": "2026-W47"}).content.decode()
    assert "<th>1. School activity</th>" in html
    assert "<th>3. Teachers who wrote ≥ 3 messages in the week</th>" in html
    assert "<th>Held calls</th>" in html
    assert "Учителей," not in html


def test_a_digest_labels_its_lines_from_the_registry(example):
    with translation.override("ru"):
        digest = build_digest(example.s1, W47, local("2026-11-23 08:00"))
        lines = [f"{item.label}: {item.text}" for item in digest.indicators]
        assert digest.active_label == "1. Активность ОО"
    # The teachers and the letter's indicators, then the week's activity, then the members.
    assert lines == [
        "Учителей: 4 → 5 (+1)",
        "2. Учителей, создавших ≥ 1 чата: 1 → 1 (+0)",
        "3. Учителей, написавших ≥ 3 сообщений за неделю: 0 → 3 (+3)",
        "4. Учителей, написавших ≥ 10 сообщений за неделю: 0 → 1 (+1)",
        "5. Учителей, создавших ≥ 1 звонка за неделю: 0 → 2 (+2)",
        "6. Учителей, создавших ≥ 3 звонков за неделю: 0 → 1 (+1)",
        "Чатов: 1 → 2 (+1)",
        "Сообщений за неделю: 0 → 23 (+23)",
        "Проведённых звонков: 0 → 4 (+4)",
        "Проведённых трансляций: 0 → 0 (+0)",
        "Администраторов: 2 → 2 (+0)",
        "Учеников: 1 → 1 (+0)",
        "Родителей: 1 → 1 (+0)",
    ]
    assert [item.key for item in digest.notice_indicators] == ["teachers", *(e.key for e in SHARED)]
