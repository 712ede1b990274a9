"""One local time everywhere: a moment in the school's zone as «сегодня 14:05», «вчера 14:05»,
«2 дек.» or «2 дек. 2025». chat.js draws live messages with the same words (`moment_words`)
and the server's «today» (`today_in`), so a live message reads as the reloaded one."""

from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

register = template.Library()


def _zone(zone: tzinfo | str) -> tzinfo:
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def moment_words() -> dict[str, str | list[str]]:
    """The words of a moment, in the active language; the page hands them to chat.js."""
    return {
        "today": _("сегодня %(time)s"),
        "yesterday": _("вчера %(time)s"),
        "this_year": _("%(day)s %(month)s"),
        "other_year": _("%(day)s %(month)s %(year)s"),
        "months": [
            pgettext("month, short", name)
            for name in (
                "янв.", "февр.", "мар.", "апр.", "мая", "июн.",
                "июл.", "авг.", "сент.", "окт.", "нояб.", "дек.",
            )
        ],
    }  # fmt: skip


def moment_text(value: datetime, zone: tzinfo | str, now: datetime | None = None) -> str:
    """`value` as read in `zone`; «today» and «yesterday» are relative to `now` there."""
    local = timezone.localtime(value, _zone(zone))
    today = today_in(zone, now)
    words = moment_words()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        return str(words["today"]) % {"time": clock}
    if local.date() == today - timedelta(days=1):
        return str(words["yesterday"]) % {"time": clock}
    parts = {"day": str(local.day), "month": words["months"][local.month - 1], "year": str(local.year)}
    return str(words["this_year" if local.year == today.year else "other_year"]) % parts


@register.simple_tag
def today_in(zone: tzinfo | str, now: datetime | None = None) -> date:
    """Today's date in `zone`."""
    return timezone.localtime(now or timezone.now(), _zone(zone)).date()


@register.filter
def moment(value: datetime | None, zone: tzinfo | str) -> str:
    return "" if value is None else moment_text(value, zone)
