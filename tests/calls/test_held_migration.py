"""Installations from before Call.held_at get it filled in by the migration that adds it."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from parta.calls.models import Call
from tests.factories import local, make_member

BEFORE = [("calls", "0002_links_guests_heartbeats")]
T0 = local("2026-11-17 10:00")


@pytest.mark.django_db(transaction=True)
def test_the_migration_stores_when_existing_calls_were_held(school):
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    student = make_member(school, "student", "Соколов Артём")
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("calls")
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    OldCall = old.get_model("calls", "Call")
    OldStay = old.get_model("calls", "CallParticipation")

    def call(stays):
        made = OldCall.objects.create(
            organization_id=school.pk, created_by_id=teacher.pk, created_at=T0
        )
        for person, joined, left in stays:
            OldStay.objects.create(
                call=made,
                person_id=person.pk,
                joined_at=T0 + timedelta(minutes=joined),
                left_at=None if left is None else T0 + timedelta(minutes=left),
            )
        return made.pk

    held = call([(teacher, 0, 30), (student, 5, None)])
    alone = call([(teacher, 0, 30), (teacher, 10, 20)])
    after = call([(teacher, 0, 10), (student, 10, 20)])

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest)
    moments = dict(Call.objects.values_list("pk", "held_at"))
    assert moments == {held: T0 + timedelta(minutes=5), alone: None, after: None}
