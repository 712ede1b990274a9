"""The rules in docs/ name what Parta outputs and reads, so neither can drift silently.

That the worked example (docs/examples/) is what Parta produces is checked where each
output is tested, from the same files: imported (test_exchange), built through the
services (test_engine) and printed by `parta report` (test_report_outputs).
"""

import csv
import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from parta.accounts.models import Role
from parta.exchange.importer import import_activity
from parta.exchange.reader import RECORD_TYPES
from parta.messaging.models import Conversation
from parta.structure.models import Organization

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
WEEK = "2026-W47"


def parts(name: str) -> dict[str, str]:
    """A document's Russian and English parts, each checked on its own."""
    text = (DOCS / name).read_text(encoding="utf-8")
    russian, english = text.split("\n## English\n")
    assert "\n## Русский\n" in russian
    return {"ru": russian, "en": english}


def named(text: str) -> set[str]:
    """Everything a document writes as code: `key`, and the keys of its JSON samples."""
    return set(re.findall(r"`([^`\s]+)`", text)) | set(re.findall(r'"(\w+)":', text))


def table_after(text: str, header: str) -> list[list[str]]:
    """The cells of the Markdown table whose header line is `header`."""
    lines = text.split("\n")
    start = lines.index(header) + 2  # past the header and the |---| line
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def run_report(*args: str) -> str:
    out = io.StringIO()
    call_command("report", "--week", WEEK, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def example(db):
    with (DOCS / "examples" / "example-activity.jsonl").open("rb") as source:
        import_activity(source)


def test_the_rules_name_every_key_of_the_report(example):
    report = json.loads(run_report())
    keys = {"week", *report["total"]}
    for row in report["organizations"]:
        keys |= set(row)
    assert {"organizations", "active_organizations", "teachers_3_calls_pct"} <= keys
    for lang, text in parts("indicators.md").items():
        assert keys - named(text) == set(), lang


def test_the_rules_give_every_column_of_the_files(example):
    rows = list(csv.reader(io.StringIO(run_report("--format", "csv").lstrip("\ufeff"))))
    headers = rows[0]
    keys = set(json.loads(run_report())["organizations"][0])
    docs = parts("indicators.md")
    for lang, header in (("ru", "| ключ | столбец |"), ("en", "| key | column | English label |")):
        table = table_after(docs[lang], header)
        assert [cells[1] for cells in table] == headers, lang
        assert {cells[0].strip("`") for cells in table} == keys, lang
    assert rows[-1][3] == "Итого: 2 организаций, активных 1"  # as the docs describe it


def test_the_exchange_format_gives_every_record_type_and_field():
    expected = {kind: list(fields) for kind, (fields, _parse) in RECORD_TYPES.items()}
    for lang, text in parts("exchange-format.md").items():
        header = next(line for line in text.split("\n") if line.startswith("| type |"))
        documented = {
            kind.strip("`"): [item.split("`")[1].rstrip("?") for item in fields.split(", ")]
            for kind, fields in table_after(text, header)
        }
        assert documented == expected, lang


def test_the_exchange_format_names_every_value_the_import_accepts():
    values = {
        *Organization.Kind.values,
        *Role.values,
        *Conversation.Kind.values,
        *Conversation.Purpose.values,
    }
    for lang, text in parts("exchange-format.md").items():
        assert values - named(text) == set(), lang


@pytest.mark.parametrize("name", ["indicators.md", "exchange-format.md"])
def test_every_link_of_the_docs_is_in_the_repository(name):
    text = (DOCS / name).read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)\)", text)
    assert "examples/example-activity.jsonl" in targets
    assert [target for target in targets if not (DOCS / target).is_file()] == []


def test_nothing_points_outside_the_repository_for_its_rules():
    outside = re.compile(r"shared/(spec|seed)|\.\./shared")
    places = ["src", "tests", "docs", "bench", "README.md", "Makefile", "pyproject.toml", ".ci"]
    files = []
    for place in places:
        path = ROOT / place
        files += [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    hits = []
    for path in files:
        data = path.read_bytes()
        if "egg-info" in str(path) or b"\0" in data:  # built metadata, binary files
            continue
        text = data.decode("utf-8", errors="replace")
        hits += [
            f"{path.relative_to(ROOT)}:{n}"
            for n, line in enumerate(text.split("\n"), 1)
            if outside.search(line)
        ]
    assert hits == []
