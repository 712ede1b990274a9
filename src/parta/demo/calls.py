"""The demo district's past calls outside chats: teachers' councils and methodical meetings
by link, as the letter asks schools to hold them, with now and then a guest from the
district office who joined without an account. Calls in class chats come from
parta.demo.activity; this module adds the staff meetings beside them.

Seeded generators make the same day give the same calls; each call has an external id, so
a second run adds nothing.
"""

import random
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from parta.accounts.selectors import teachers_during
from parta.calls.models import Call
from parta.calls.services import end_call, guest_enter, join_call, leave_call, start_call
from parta.demo.activity import LIVELINESS
from parta.demo.services import WEEKS
from parta.monitoring.weeks import Week
from parta.structure.models import Organization

RANDOM_SEED = 2026
EXTERNAL_PREFIX = "demo:calls:"
MEETINGS = (
    # (key, title, weekday, hour, how many teachers come at most)
    ("council", "Педсовет", 2, 15, 12),
    ("methodical", "Методическое объединение учителей", 4, 14, 4),
)
GUEST_NAME = "Методист управления образования"


def seed_calls(schools: dict[str, Organization], now: datetime | None = None) -> int:
    """Past staff meetings by link in every school that has started; returns calls made."""
    now = now or timezone.now()
    return sum(_seed_school(key, school, now) for key, school in sorted(schools.items()))


@transaction.atomic
def _seed_school(key: str, school: Organization, now: datetime) -> int:
    level = LIVELINESS.get(key, 0.0)
    if level == 0:
        return 0
    zone = school.district.region.zone
    current = Week.containing(now, zone)
    rng = random.Random(f"{RANDOM_SEED}:{key}:calls")  # noqa: S311
    made = 0
    for n in range(WEEKS, 0, -1):
        monday = current.start(zone) - timedelta(weeks=n)
        teachers = sorted(
            teachers_during(school, monday, monday + timedelta(days=7)), key=lambda p: p.pk
        )
        if len(teachers) < 2:
            continue
        for meeting, title, weekday, hour, most in MEETINGS:
            external_id = f"{EXTERNAL_PREFIX}{key}:{monday:%Y-%m-%d}:{meeting}"
            if rng.random() > level or Call.objects.filter(external_id=external_id).exists():
                continue
            at = monday + timedelta(days=weekday, hours=hour, minutes=rng.choice((0, 5, 10)))
            call = start_call(teachers[0], school, at=at, title=title, allow_anonymous=True)
            call.external_id = external_id
            call.save(update_fields=["external_id"])
            join_call(call, teachers[0], at=at)
            # Now and then nobody comes: a call made but not held.
            others = teachers[1:] if rng.random() < 0.9 else []
            came = rng.sample(others, k=min(len(others), rng.randint(1, most)))
            length = timedelta(minutes=rng.randint(25, 60))
            for person in came:
                joined = at + timedelta(minutes=rng.randint(0, 7))
                join_call(call, person, at=joined)
                leave_call(call, person, at=joined + length - timedelta(minutes=rng.randint(0, 9)))
            if came and meeting == "council" and rng.random() < 0.3:
                guest = guest_enter(call, f"demo{call.pk:028d}", GUEST_NAME, at=at)
                guest.left_at = at + length
                guest.save(update_fields=["left_at"])
            end_call(call, at=at + length + timedelta(minutes=10))
            made += 1
    return made
