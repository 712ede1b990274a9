"""The embedded SQLite backend: writers of one process take turns on its lock, and every way
out of a transaction (commit, rollback, error, closing the connection) hands the lock on."""

import threading
from collections.abc import Callable

import pytest
from django.db import OperationalError, connection, connections, transaction

from parta.structure.models import Region

pytestmark = pytest.mark.django_db(transaction=True)

# Long enough never to be reached on a loaded machine: the threads below signal each other.
WAIT = 30.0


@pytest.fixture(autouse=True)
def _sqlite_only() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the write lock is the embedded SQLite backend's (parta/sqlite/base.py)")


def in_thread(work: Callable[[], None]) -> threading.Thread:
    """Runs `work` on a connection of its own, closed at the end, as a request thread does."""

    def run() -> None:
        try:
            work()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def holding_a_write(release: threading.Event, then: Callable[[], None]) -> threading.Thread:
    """A thread inside a write transaction until `release` is set; `then` ends it."""
    inside = threading.Event()

    def work() -> None:
        with transaction.atomic():
            Region.objects.create(name="Первый", time_zone="Europe/Moscow")
            inside.set()
            assert release.wait(WAIT)
            then()

    thread = in_thread(work)
    assert inside.wait(WAIT)
    return thread


def test_a_second_writer_begins_only_after_the_first_commits():
    order: list[str] = []
    release = threading.Event()
    holding_a_write(release, lambda: order.append("first commits"))
    second_began = threading.Event()

    def second() -> None:
        with transaction.atomic():
            order.append("second begins")
            second_began.set()
            Region.objects.create(name="Второй", time_zone="Europe/Moscow")

    thread = in_thread(second)
    release.set()
    assert second_began.wait(WAIT)
    thread.join(WAIT)
    assert order == ["first commits", "second begins"]
    assert set(Region.objects.values_list("name", flat=True)) == {"Первый", "Второй"}


class Refused(Exception):
    pass


def test_a_failed_transaction_hands_the_lock_on():
    release = threading.Event()

    def fail() -> None:
        raise Refused

    failed = threading.Event()

    def work() -> None:
        try:
            with transaction.atomic():
                Region.objects.create(name="Откат", time_zone="Europe/Moscow")
                release.wait(WAIT)
                fail()
        except Refused:
            failed.set()

    in_thread(work)
    release.set()
    assert failed.wait(WAIT)
    with transaction.atomic():
        Region.objects.create(name="После", time_zone="Europe/Moscow")
    assert list(Region.objects.values_list("name", flat=True)) == ["После"]


def test_closing_a_connection_inside_a_transaction_hands_the_lock_on():
    closed = threading.Event()

    def work() -> None:
        with transaction.atomic():
            Region.objects.create(name="Брошено", time_zone="Europe/Moscow")
            connection.close()
        closed.set()

    in_thread(work)
    assert closed.wait(WAIT)
    with transaction.atomic():
        Region.objects.create(name="После", time_zone="Europe/Moscow")
    assert list(Region.objects.values_list("name", flat=True)) == ["После"]


def test_a_writer_that_waits_longer_than_the_timeout_is_told_the_database_is_locked():
    release = threading.Event()
    first = holding_a_write(release, lambda: None)
    options = connection.settings_dict["OPTIONS"]
    saved = options.get("timeout")
    options["timeout"] = 0.05
    try:
        with pytest.raises(OperationalError, match="database is locked"), transaction.atomic():
            pass
    finally:
        options["timeout"] = saved
        release.set()
    first.join(WAIT)
    assert list(Region.objects.values_list("name", flat=True)) == ["Первый"]
