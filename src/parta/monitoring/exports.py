"""The weekly report as files: JSON (the spec's shape), CSV and XLSX with Russian headers.

All three carry the same rows and numbers as `engine.weekly_report`.
"""

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from parta.monitoring.engine import WeeklyReport
from parta.monitoring.indicators import ACTIVE, INDICATORS, Kind

# The organization's own columns, before its indicators.
ORGANIZATION_COLUMNS = (
    ("id", "ID"),
    ("region", "Регион"),
    ("district", "Район"),
    ("name", "Организация"),
)


def columns() -> list[tuple[str, str, str]]:
    """(JSON key, column header, kind) of the files, kind one of text, bool, count, pct:
    each indicator of the registry, its share right after it. The headers stay Russian
    whatever the reader's language: a fixed reporting format."""
    cols = [(key, header, "text") for key, header in ORGANIZATION_COLUMNS]
    with translation.override("ru"):
        for indicator in INDICATORS:
            kind = "bool" if indicator.kind is Kind.FLAG else "count"
            cols.append((indicator.key, str(indicator.heading), kind))
            if indicator.has_share:
                cols.append((indicator.pct_key, str(indicator.pct_heading), "pct"))
    return cols


TOTAL_LABEL = "Итого"
# A spreadsheet runs a cell that starts like this as a formula ("CSV injection"): a school
# named "=HYPERLINK(...)" must stay a name in the file a district opens in Excel.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: Any) -> bool:
    """Text a spreadsheet would evaluate; the writers store it as plain text."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def report_json(report: WeeklyReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n"


def _table(report: WeeklyReport, cols: list[tuple[str, str, str]]) -> list[list[Any]]:
    """Rows of cells, header first, totals last; a total's text columns say what it sums."""
    total = dict(report.total)
    total.update(
        {
            "id": "",
            "region": "",
            "district": "",
            "name": _("%(label)s: %(n)s организаций, активных %(active)s")
            % {
                "label": TOTAL_LABEL,
                "n": total["organizations"],
                "active": total["active_organizations"],
            },
            ACTIVE.key: None,  # a total counts the active organizations instead
        }
    )
    rows = [[header for _key, header, _kind in cols]]
    for record in [*report.organizations, total]:
        rows.append([record[key] for key, _header, _kind in cols])
    return rows


def _csv_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "bool":
        return "да" if value else "нет"
    if kind == "pct":
        return f"{value:.1f}"
    if kind == "text" and looks_like_formula(value):
        return "'" + value  # the usual neutralisation: Excel shows the text, runs nothing
    return str(value)


def report_csv(report: WeeklyReport) -> str:
    """RFC 4180 CSV in UTF-8 with a byte order mark, so Excel reads the Cyrillic right."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    cols = columns()
    table = _table(report, cols)
    writer.writerow(table[0])
    kinds = [kind for _key, _header, kind in cols]
    for row in table[1:]:
        writer.writerow([_csv_cell(value, kind) for value, kind in zip(row, kinds, strict=True)])
    return out.getvalue()


_WIDTHS = {"text": 14, "bool": 12, "count": 14, "pct": 10}


def report_xlsx(report: WeeklyReport) -> bytes:
    """The file a district sends upward: one row per organization and a totals row.

    Shares are stored as fractions (0.333) formatted as percentages (33.3%), the same
    number the JSON gives as 33.3.
    """
    book = Workbook()
    sheet = book.worksheets[0]
    sheet.title = str(report.week)
    cols = columns()
    table = _table(report, cols)
    kinds = [kind for _key, _header, kind in cols]
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDE7F0")
    sheet.append(table[0])
    for cell in sheet[1]:
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in table[1:]:
        cells: list[Any] = []
        for value, kind in zip(row, kinds, strict=True):
            if kind == "pct":
                cells.append(None if value is None else round(value / 100, 3))
            elif kind == "bool":
                cells.append(None if value is None else ("да" if value else "нет"))
            else:
                cells.append(value)
        sheet.append(cells)
        for cell in sheet[sheet.max_row]:
            if looks_like_formula(cell.value):
                # openpyxl would store "=..." as a formula; quotePrefix keeps it text on edit.
                cell.data_type = "s"
                cell.quotePrefix = True
    for index, kind in enumerate(kinds, start=1):
        letter = get_column_letter(index)
        for cell in sheet[letter][1:]:
            if kind == "pct":
                cell.number_format = "0.0%"
        longest = (
            max(len(str(c.value)) for c in sheet[letter][1:] if c.value is not None)
            if (sheet.max_row > 1)
            else 0
        )
        sheet.column_dimensions[letter].width = min(max(_WIDTHS[kind], longest + 2), 60)
    sheet.row_dimensions[1].height = 60
    for cell in sheet[sheet.max_row]:
        cell.font = header_font
    sheet.freeze_panes = "E2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{sheet.max_row - 1}"

    notes = book.create_sheet(_("Пояснения"))
    for line in (
        _(
            "Отчётная неделя: %(week)s (понедельник 00:00 — следующий понедельник 00:00 "
            "по времени региона)."
        )
        % {"week": report.week},
        _("Охват: %(scope)s.") % {"scope": report.scope.title},
        _("Учителя — все, кто имел роль «учитель» в организации в любой момент недели."),
        _(
            "Чаты считаются нарастающим итогом; каналы — не чаты; чат, созданный "
            "администратором без роли «учитель», не учитывается."
        ),
        _(
            "Сообщения и звонки учитываются, только если автор в момент действия был учителем "
            "этой организации. Звонок проведён, если в нём одновременно были двое разных людей."
        ),
        _(
            "Доли — процент от числа учителей, округление до 0,1; доли итога пересчитаны по "
            "суммам, а не усреднены."
        ),
    ):
        notes.append([line])
    notes.column_dimensions["A"].width = 120
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


RENDERERS: dict[str, Callable[[WeeklyReport], str | bytes]] = {
    "json": report_json,
    "csv": report_csv,
    "xlsx": report_xlsx,
}
CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def report_filename(report: WeeklyReport, fmt: str) -> str:
    return f"parta-{report.scope.label.replace(':', '-')}-{report.week}.{fmt}"
