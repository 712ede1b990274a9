"""The event log itself: numbering under concurrency, catch-up pages, polling API, pruning."""

import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from parta.realtime.models import EventCursor, PersonEvent
from parta.realtime.selectors import catch_up, events_after, last_seq
from parta.realtime.services import publish
from tests.factories import make_person

URL = "/api/realtime/events"


def seqs(person) -> list[int]:
    return list(PersonEvent.objects.filter(person=person).values_list("seq", flat=True))


@pytest.mark.django_db
def test_each_person_gets_their_own_consecutive_numbers():
    anna, boris = make_person("Иванова Анна"), make_person("Борисов Борис")
    publish([anna.pk], "a", {})
    publish([boris.pk, anna.pk, anna.pk], "b", {"x": 1})
    publish([], "nobody", {})
    assert seqs(anna) == [1, 2]
    assert seqs(boris) == [1]
    assert (last_seq(anna), last_seq(boris)) == (2, 1)
    assert [e.kind for e in events_after(anna, 0)] == ["a", "b"]
    assert [e.seq for e in events_after(anna, 1)] == [2]
    assert events_after(anna, 2) == []


@pytest.mark.django_db
def test_catch_up_comes_in_pages_and_says_when_more_follow():
    anna = make_person()
    for n in range(5):
        publish([anna.pk], "n", {"n": n})
    first = catch_up(anna, 0, limit=2)
    assert ([e.seq for e in first.events], first.seq, first.more) == ([1, 2], 2, True)
    last = catch_up(anna, 4, limit=2)
    assert ([e.seq for e in last.events], last.seq, last.more) == ([5], 5, False)
    assert catch_up(anna, None).seq == 5
    assert catch_up(anna, None).events == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishers_never_share_or_skip_a_number():
    """Eight threads publish to the same two people at once, starting before either has
    a counter row: every number from 1 to 40 is used exactly once for each of them."""
    anna, boris = make_person("Иванова Анна"), make_person("Борисов Борис")
    threads_count, rounds = 8, 5
    start = threading.Barrier(threads_count)
    failures: list[BaseException] = []

    def publisher(n: int) -> None:
        try:
            start.wait(10)
            for _ in range(rounds):
                people = [anna.pk, boris.pk] if n % 2 else [boris.pk, anna.pk]
                publish(people, "race", {"thread": n})
        except BaseException as error:  # reported below, the thread cannot raise
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=publisher, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    expected = list(range(1, threads_count * rounds + 1))
    assert seqs(anna) == expected
    assert seqs(boris) == expected
    assert EventCursor.objects.get(person=anna).last_seq == threads_count * rounds


# --- the polling API ------------------------------------------------------------------


@pytest.fixture
def anna(db):
    return make_person("Иванова Анна")


@pytest.fixture
def signed_in(anna):
    client = Client()
    client.force_login(anna)
    return client


def test_polling_needs_a_signed_in_person(anna):
    publish([anna.pk], "secret", {})
    assert Client().get(URL, {"after": 0}).status_code == 401


def test_polling_returns_the_events_after_the_number(signed_in, anna):
    publish([anna.pk], "message.new", {"text": "раз"})
    publish([anna.pk], "message.new", {"text": "два"})
    publish([make_person("Борисов Борис").pk], "message.new", {"text": "чужое"})

    body = signed_in.get(URL, {"after": 1}).json()
    assert [(e["seq"], e["payload"]) for e in body["events"]] == [(2, {"text": "два"})]
    assert (body["seq"], body["resync"], body["more"]) == (2, False, False)
    assert body["events"][0]["kind"] == "message.new"

    body = signed_in.get(URL, {"after": 0}).json()
    assert [e["seq"] for e in body["events"]] == [1, 2]
    assert signed_in.get(URL, {"after": 2}).json() == {
        "events": [],
        "seq": 2,
        "resync": False,
        "more": False,
    }


def test_polling_without_a_number_gives_where_to_start(signed_in, anna):
    publish([anna.pk], "a", {})
    assert signed_in.get(URL).json() == {"events": [], "seq": 1, "resync": False, "more": False}


def test_polling_after_pruned_events_asks_for_a_resync(signed_in, anna):
    for _ in range(3):
        publish([anna.pk], "a", {})
    PersonEvent.objects.filter(person=anna, seq__lte=2).delete()
    body = signed_in.get(URL, {"after": 0}).json()
    assert body == {"events": [], "seq": 3, "resync": True, "more": False}
    assert signed_in.get(URL, {"after": 2}).json()["events"][0]["seq"] == 3


@pytest.mark.parametrize("after", ["-1", "два", "1.5"])
def test_polling_refuses_a_bad_number(signed_in, after):
    response = signed_in.get(URL, {"after": after})
    assert response.status_code == 422


# --- pruning ------------------------------------------------------------------------


def test_prune_events_deletes_only_old_events_and_keeps_the_numbering(anna):
    publish([anna.pk], "old", {})
    publish([anna.pk], "old", {})
    PersonEvent.objects.update(created_at=timezone.now() - timedelta(days=31))
    publish([anna.pk], "new", {})

    call_command("prune_events", days=30)

    assert seqs(anna) == [3]
    publish([anna.pk], "newer", {})
    assert seqs(anna) == [3, 4]


def test_prune_events_keeps_everything_younger_than_days(anna):
    publish([anna.pk], "recent", {})
    PersonEvent.objects.update(created_at=timezone.now() - timedelta(days=5))
    call_command("prune_events", days=7)
    assert seqs(anna) == [1]


def test_prune_events_refuses_less_than_a_day(anna):
    publish([anna.pk], "a", {})
    with pytest.raises(CommandError, match="at least 1"):
        call_command("prune_events", days=0)
    assert seqs(anna) == [1]
