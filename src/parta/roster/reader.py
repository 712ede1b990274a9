"""Reading a school's list of people from the file its e-journal gives: XLSX or CSV.

Columns are found by their headings, in any order, Russian or English («Класс», «Фамилия»,
«Имя», «Отчество» or one «ФИО», «Роль», «Телефон», «Ребёнок»). A CSV may be UTF-8 (with or
without BOM) or Windows-1251, separated by «;» (Russian Excel), «,» or tabs. Nothing here
knows the database: the planner decides what a row means.
"""

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from parta.accounts.models import Person, Role

COLUMNS: dict[str, tuple[str, ...]] = {
    "class": ("класс", "class"),
    "surname": ("фамилия", "surname", "last name", "lastname", "family name"),
    "name": ("имя", "name", "first name", "firstname", "given name"),
    "patronymic": ("отчество", "patronymic", "middle name", "middlename"),
    "full_name": ("фио", "ф.и.о.", "full name", "fullname"),
    "role": ("роль", "role", "статус"),
    "phone": ("телефон", "мобильный телефон", "моб. телефон", "phone", "mobile", "mobile phone"),
    "child": ("ребёнок", "ребенок", "фио ребёнка", "фио ребенка", "child", "child name"),
}
ROLE_WORDS: dict[str, str] = {
    **dict.fromkeys(("ученик", "ученица", "учащийся", "обучающийся", "student"), Role.STUDENT),
    **dict.fromkeys(
        ("родитель", "мать", "отец", "мама", "папа", "законный представитель", "parent"),
        Role.PARENT,
    ),
    **dict.fromkeys(("учитель", "педагог", "преподаватель", "teacher"), Role.TEACHER),
    **dict.fromkeys(("сотрудник", "работник", "staff"), Role.STAFF),
}
# The heading is looked for in the first rows: e-journals put a title above the table.
HEADER_SEARCH_ROWS = 10


class RosterFileError(Exception):
    """The file as a whole cannot be read: a message for the admin, nothing about rows."""


@dataclass(frozen=True)
class RosterRow:
    number: int  # the row's number as the spreadsheet shows it (the heading is row 1 or later)
    school_class: str
    surname: str
    name: str
    patronymic: str
    role_text: str
    phone: str
    child: str

    @property
    def role(self) -> str | None:
        return ROLE_WORDS.get(_words(self.role_text))

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.surname, self.name, self.patronymic) if part)


def _words(text: str) -> str:
    return " ".join(text.replace("ё", "е").replace("Ё", "Е").casefold().split())


_HEADINGS = {_words(alias): key for key, aliases in COLUMNS.items() for alias in aliases}


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # A phone typed into Excel as a number: 79131234567.0
        return str(int(value))
    return " ".join(str(value).split())


def _columns(heading: list[str]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for index, text in enumerate(heading):
        key = _HEADINGS.get(_words(text).rstrip(":*"))
        if key is not None and key not in found:
            found[key] = index
    has_name = "full_name" in found or {"surname", "name"} <= found.keys()
    return found if has_name and "role" in found else None


def _row(number: int, cells: list[str], columns: dict[str, int]) -> RosterRow:
    def get(key: str) -> str:
        index = columns.get(key)
        return cells[index] if index is not None and index < len(cells) else ""

    surname, name, patronymic = get("surname"), get("name"), get("patronymic")
    if "full_name" in columns and not surname:
        surname, name, patronymic = Person.split_full_name(get("full_name"))
    return RosterRow(
        number=number,
        school_class=get("class"),
        surname=surname,
        name=name,
        patronymic=patronymic,
        role_text=get("role"),
        phone=get("phone"),
        child=get("child"),
    )


def _read_table(table: Iterator[list[str]]) -> list[RosterRow]:
    columns = None
    rows: list[RosterRow] = []
    for number, cells in enumerate(table, start=1):
        if columns is None:
            columns = _columns(cells)
            if columns is None and number >= HEADER_SEARCH_ROWS:
                break
        elif any(cells):
            rows.append(_row(number, cells, columns))
    if columns is None:
        raise RosterFileError(
            _(
                "В файле не нашлась строка заголовков. Нужны столбцы «Класс», «Фамилия», «Имя», "
                "«Отчество» (или один «ФИО»), «Роль», «Телефон», а для родителей — «Ребёнок». "
                "Скачайте образец на странице загрузки."
            )
        )
    if not rows:
        raise RosterFileError(_("В файле есть заголовки, но нет ни одной строки с людьми."))
    return rows


def _xlsx_table(content: bytes) -> Iterator[list[str]]:
    try:
        # read_only streams the sheet: a district's 40,000 rows stay ~30 MB, not ~300.
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise RosterFileError(
            _("Файл не читается как таблица Excel (XLSX). Сохраните его заново как XLSX или CSV.")
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [_cell(value) for value in values]
    finally:
        workbook.close()


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterFileError(_("Текст файла не в UTF-8 и не в Windows-1251."))


def _csv_table(content: bytes) -> Iterator[list[str]]:
    text = _decode(content)
    first_line = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first_line.count)
    for cells in csv.reader(io.StringIO(text), delimiter=delimiter):
        yield [_cell(cell) for cell in cells]


def read_roster(content: bytes) -> list[RosterRow]:
    """The rows of an XLSX or CSV file (told apart by their bytes, not the name)."""
    if not content:
        raise RosterFileError(_("Файл пустой."))
    if content.startswith(b"PK\x03\x04"):
        return _read_table(_xlsx_table(content))
    if b"\x00" in content[:4096]:
        raise RosterFileError(
            _("Это не XLSX и не CSV. Старый формат XLS сохраните в Excel как XLSX.")
        )
    return _read_table(_csv_table(content))
