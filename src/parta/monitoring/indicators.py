"""The weekly indicators, each written once: its key in the report, the number the letter
gives it, its labels and what it counts.

The engine's rows, the CSV and XLSX columns, the pages, the digests and the API schema all
read this list, so a label or a key changes here or nowhere. docs/indicators.md gives the
same keys, numbers and column headers; tests/monitoring/test_indicators.py keeps the two
equal. The rules that compute each number live in `engine`, not here.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


class Kind(StrEnum):
    """What an indicator counts, which decides how it is summed, shared and shown."""

    # Yes or no for an organization (the letter's «Активность ОО»); a total counts the
    # organizations where it holds instead of summing it.
    FLAG = "flag"
    # The week's teachers: what every share is a share of.
    TEACHERS = "teachers"
    # Teachers meeting one of the letter's rules, reported also as a share (`<key>_pct`).
    TEACHER_SHARE = "teacher_share"
    # What the organization did in the week: chats, messages, held calls and broadcasts.
    ACTIVITY = "activity"
    # People holding a role at the last moment of the week.
    MEMBERS = "members"


@dataclass(frozen=True)
class Indicator:
    key: str
    # The letter's number as docs/indicators.md gives it; None for the context counts.
    number: int | None
    label: str | Promise  # the full label, without the number
    kind: Kind
    short: str | Promise | None = None  # for narrow places (table headers, chart legends)

    # Lazy, like the labels: a page shows them in its reader's language, a file in Russian.
    @property
    def heading(self) -> str | Promise:
        """The full label as files, pages and digests show it: «2. Учителей, создавших …»."""
        return self.label if self.number is None else format_lazy("{}. {}", self.number, self.label)

    @property
    def short_label(self) -> str | Promise:
        return self.label if self.short is None else self.short

    @property
    def has_share(self) -> bool:
        return self.kind is Kind.TEACHER_SHARE

    @property
    def pct_key(self) -> str:
        """The report key of its share of the teachers (for the indicators that have one)."""
        return f"{self.key}_pct"

    @property
    def pct_heading(self) -> str | Promise:
        return format_lazy("{}. {}", self.number, _("Доля, %"))


INDICATORS: tuple[Indicator, ...] = (
    Indicator("active", 1, _("Активность ОО"), Kind.FLAG, short=_("Активна")),
    Indicator("teachers", None, _("Учителей"), Kind.TEACHERS),
    Indicator(
        "teachers_with_chat",
        2,
        _("Учителей, создавших ≥ 1 чата"),
        Kind.TEACHER_SHARE,
        short=_("создали чат"),
    ),
    Indicator(
        "teachers_3_messages",
        3,
        _("Учителей, написавших ≥ 3 сообщений за неделю"),
        Kind.TEACHER_SHARE,
        short=_("≥ 3 сообщений"),
    ),
    Indicator(
        "teachers_10_messages",
        4,
        _("Учителей, написавших ≥ 10 сообщений за неделю"),
        Kind.TEACHER_SHARE,
        short=_("≥ 10 сообщений"),
    ),
    Indicator(
        "teachers_1_call",
        5,
        _("Учителей, создавших ≥ 1 звонка за неделю"),
        Kind.TEACHER_SHARE,
        short=_("≥ 1 звонка"),
    ),
    Indicator(
        "teachers_3_calls",
        6,
        _("Учителей, создавших ≥ 3 звонков за неделю"),
        Kind.TEACHER_SHARE,
        short=_("≥ 3 звонков"),
    ),
    Indicator("admins", None, _("Администраторов"), Kind.MEMBERS),
    Indicator("students", None, _("Учеников"), Kind.MEMBERS),
    Indicator("parents", None, _("Родителей"), Kind.MEMBERS),
    Indicator("chats", None, _("Чатов"), Kind.ACTIVITY),
    Indicator("messages", None, _("Сообщений за неделю"), Kind.ACTIVITY),
    Indicator("calls_held", None, _("Проведённых звонков"), Kind.ACTIVITY),
    # Not the letter's: it names «звонок» and «трансляция» apart, so a broadcast counts for
    # no call indicator and reports carry the broadcasts held beside them.
    Indicator("broadcasts_held", None, _("Проведённых трансляций"), Kind.ACTIVITY),
)
BY_KEY = {indicator.key: indicator for indicator in INDICATORS}


def of_kind(*kinds: Kind) -> tuple[Indicator, ...]:
    """The indicators of these kinds, in the order of the kinds given, each in report order."""
    return tuple(indicator for kind in kinds for indicator in INDICATORS if indicator.kind is kind)


ACTIVE = BY_KEY["active"]
TEACHERS = BY_KEY["teachers"]
SHARED = of_kind(Kind.TEACHER_SHARE)
# Every number a total sums: all but the flag, which a total counts instead.
COUNTED = tuple(indicator for indicator in INDICATORS if indicator.kind is not Kind.FLAG)
