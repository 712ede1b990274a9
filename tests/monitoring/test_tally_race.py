"""Two first messages of a week by the same person, sent at the same moment from two tabs,
both go through and both are counted."""

import threading

import pytest
from django.db import connection, connections, transaction

from parta.messaging.services import create_conversation, send_message
from parta.monitoring.models import WeeklyMessageTally
from parta.monitoring.tallies import recount, stored
from tests.factories import local, make_member


def _wait_until_blocked(pid: int) -> None:
    """Until the backend `pid` waits for a lock (the other transaction's new row)."""
    with connections["default"].cursor() as cursor:
        for _ in range(10_000):
            cursor.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                [pid],
            )
            if cursor.fetchone():
                return
            cursor.execute("SELECT pg_sleep(0.005)")
    raise AssertionError("the second send never waited for the first")


@pytest.mark.django_db(transaction=True)
def test_two_first_messages_of_a_week_at_once_are_both_stored_and_counted(school):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: the race needs PostgreSQL")
    teacher = make_member(school, "teacher")
    chat = create_conversation(teacher, school, title="Учителя", at=local("2026-11-16 08:00"))
    moment = local("2026-11-16 09:00")
    second_pid: list[int] = []
    failures: list[BaseException] = []

    def second_tab() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                second_pid.append(cursor.fetchone()[0])
            ready.set()
            send_message(teacher, chat, "из второй вкладки", at=moment)
        except BaseException as error:  # reported below, the thread cannot raise
            failures.append(error)
        finally:
            connection.close()

    ready = threading.Event()
    with transaction.atomic():
        send_message(teacher, chat, "из первой вкладки", at=moment)
        # The first send's tally row is written but not committed while the second runs.
        thread = threading.Thread(target=second_tab)
        thread.start()
        assert ready.wait(10)
        _wait_until_blocked(second_pid[0])
    thread.join(30)

    assert failures == []
    assert WeeklyMessageTally.objects.get(person=teacher).messages == 2
    assert stored() == recount()
