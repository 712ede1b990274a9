"""One local time everywhere: a moment in the school's zone as «сегодня 14:05», «вчера 14:05»,
«2 дек.» or «2 дек. 2025». chat.js draws live messages with the same words (`moment_words`)
and the server's «today» (`today_in`), so a live message reads as the reloaded one."""

from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

register = template.Library()

TODAY = _("сегодня %(time)s")
YESTERDAY = _("вчера %(time)s")
THIS_YEAR = _("%(day)s %(month)s")
OTHER_YEAR = _("%(day)s %(month)s %(year)s")
# Literal calls, so makemessages finds them.
MONTHS = [
    pgettext_lazy("month, short", "янв."),
    pgettext_lazy("month, short", "февр."),
    pgettext_lazy("month, short", "мар."),
    pgettext_lazy("month, short", "апр."),
    pgettext_lazy("month, short", "мая"),
    pgettext_lazy("month, short", "июн."),
    pgettext_lazy("month, short", "июл."),
    pgettext_lazy("month, short", "авг."),
    pgettext_lazy("month, short", "сент."),
    pgettext_lazy("month, short", "окт."),
    pgettext_lazy("month, short", "нояб."),
    pgettext_lazy("month, short", "дек."),
]


def _zone(zone: tzinfo | str) -> tzinfo:
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def moment_words() -> dict[str, str | list[str]]:
    """The words of a moment, in the active language; the page hands them to chat.js."""
    return {
        "today": str(TODAY),
        "yesterday": str(YESTERDAY),
        "this_year": str(THIS_YEAR),
        "other_year": str(OTHER_YEAR),
        "months": [str(month) for month in MONTHS],
    }


def moment_text(value: datetime, zone: tzinfo | str, now: datetime | None = None) -> str:
    """`value` as read in `zone`; «today» and «yesterday» are relative to `now` there."""
    local = timezone.localtime(value, _zone(zone))
    day, today = local.date(), today_in(zone, now)
    clock = local.strftime("%H:%M")
    if day == today:
        return str(TODAY) % {"time": clock}
    if day == today - timedelta(days=1):
        return str(YESTERDAY) % {"time": clock}
    parts = {"day": str(day.day), "month": str(MONTHS[day.month - 1]), "year": str(day.year)}
    if day.year == today.year:
        return str(THIS_YEAR) % parts
    return str(OTHER_YEAR) % parts


@register.simple_tag
def today_in(zone: tzinfo | str, now: datetime | None = None) -> date:
    """Today's date in `zone`."""
    return timezone.localtime(now or timezone.now(), _zone(zone)).date()


@register.filter
def moment(value: datetime | None, zone: tzinfo | str) -> str:
    return "" if value is None else moment_text(value, zone)
