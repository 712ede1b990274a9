"""One local time everywhere: web/templatetags/moments.py, with a fixed «now»."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from parta.web.templatetags.moments import moment_text, today_in

KRASNOYARSK = ZoneInfo("Asia/Krasnoyarsk")  # UTC+7
# 2 December 2026, 10:00 in Krasnoyarsk.
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 12, 2, 7, 5, tzinfo=UTC), "сегодня 14:05"),
        (datetime(2026, 12, 1, 7, 5, tzinfo=UTC), "вчера 14:05"),
        (datetime(2026, 11, 30, 7, 5, tzinfo=UTC), "30 нояб."),
        (datetime(2026, 1, 9, 7, 5, tzinfo=UTC), "9 янв."),
        (datetime(2025, 12, 2, 7, 5, tzinfo=UTC), "2 дек. 2025"),
    ],
)
def test_a_moment_reads_relative_to_today_in_the_zone(moment, text):
    assert moment_text(moment, KRASNOYARSK, now=NOW) == text


def test_across_midnight_the_zone_decides_the_day():
    # 18:30 UTC on 1 December is 01:30 on 2 December in Krasnoyarsk.
    moment = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)
    assert moment_text(moment, KRASNOYARSK, now=NOW) == "сегодня 01:30"
    assert moment_text(moment, "UTC", now=NOW) == "вчера 18:30"
    # And «today» itself: at 20:00 UTC on 1 December it is already 2 December there.
    evening = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    assert str(today_in(KRASNOYARSK, evening)) == "2026-12-02"
    assert str(today_in("UTC", evening)) == "2026-12-01"


def test_a_new_year_in_the_zone_is_another_year():
    # 31 December 2026 20:00 UTC is 1 January 2027 03:00 in Krasnoyarsk.
    now = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
    moment = datetime(2026, 12, 29, 7, 0, tzinfo=UTC)
    assert moment_text(moment, KRASNOYARSK, now=now) == "29 дек. 2026"
    assert moment_text(moment, "UTC", now=now) == "29 дек."


def test_english():
    with translation.override("en"):
        assert moment_text(datetime(2026, 12, 2, 7, 5, tzinfo=UTC), KRASNOYARSK, NOW) == (
            "today 14:05"
        )
        assert moment_text(datetime(2026, 12, 1, 7, 5, tzinfo=UTC), KRASNOYARSK, NOW) == (
            "yesterday 14:05"
        )
        assert moment_text(datetime(2025, 12, 2, 7, 5, tzinfo=UTC), KRASNOYARSK, NOW) == (
            "2 Dec 2025"
        )


def test_the_filter_reads_now_from_django(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    template = Template("{% load moments %}{{ at|moment:zone }}")
    at = datetime(2026, 12, 1, 7, 5, tzinfo=UTC)
    assert template.render(Context({"at": at, "zone": KRASNOYARSK})) == "вчера 14:05"
    assert template.render(Context({"at": None, "zone": KRASNOYARSK})) == ""
