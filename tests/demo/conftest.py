"""The demo district, seeded once for all of tests/demo: seeding it with its past weeks takes
about a minute, and four tests each seeded it again (six minutes of every suite run)."""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import transaction

from parta.demo.activity import seed_activity
from parta.demo.services import DemoDistrict, seed_demo
from tests.factories import local

# The demo's past weeks end here; tests read reports and checklists as of this moment.
NOW = local("2026-11-29 12:00")


@dataclass(frozen=True)
class SeededDistrict:
    demo: DemoDistrict
    messages_written: int  # by seed_activity, the first time


@pytest.fixture(scope="package")
def seeded_district(django_db_setup, django_db_blocker) -> Iterator[SeededDistrict]:
    """Rolled back after the package; each test's own changes roll back after the test
    (its `db` savepoint), so the tests see the same district whatever their order."""
    with django_db_blocker.unblock(), transaction.atomic():
        demo = seed_demo(NOW)
        yield SeededDistrict(demo, seed_activity(demo.schools, now=NOW))
        transaction.set_rollback(True)
