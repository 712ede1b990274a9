"""Role history: [valid_from, valid_to) grants, asked only through accounts.selectors."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from parta.accounts import services
from parta.accounts.models import AuditEntry, Role, RoleGrant
from parta.accounts.selectors import (
    current_memberships,
    holds_role,
    role_grants_during,
    role_grants_held_at,
    role_history,
    roles_at,
    teachers_during,
)
from parta.accounts.services import RoleError, grant_role, remove_from_organization, revoke_role
from parta.monitoring.weeks import Week
from tests.factories import KRASNOYARSK, local, make_person

US = timedelta(microseconds=1)
SECOND = timedelta(seconds=1)
TEACHER = Role.TEACHER.value
ADMIN = Role.ADMIN.value


@pytest.fixture
def week() -> tuple[datetime, datetime]:
    """2026-W47 in Krasnoyarsk: Mon 16 Nov 00:00 to Mon 23 Nov 00:00 (+07)."""
    return Week.parse("2026-W47").bounds(KRASNOYARSK)


@pytest.fixture
def teacher(db):
    return make_person("Кузнецова Мария Ивановна")


def names(people) -> list[str]:
    return sorted(person.full_name for person in people)


def stored() -> tuple[int, int]:
    """How many grants and audit entries exist: a refused change must leave both as they were."""
    return RoleGrant.objects.count(), AuditEntry.objects.count()


# --- reading the half-open interval -------------------------------------------------------


def test_grant_and_revoke_in_the_same_week(school, teacher, week):
    start, end = week
    grant_role(teacher, school, TEACHER, valid_from=local("2026-11-17 09:00"))
    revoked = revoke_role(teacher, school, TEACHER, at=local("2026-11-19 15:30"))

    assert revoked.valid_from == local("2026-11-17 09:00")
    assert revoked.valid_to == local("2026-11-19 15:30")
    assert roles_at(teacher, school, local("2026-11-16 12:00")) == set()
    assert roles_at(teacher, school, local("2026-11-18 12:00")) == {"teacher"}
    assert roles_at(teacher, school, local("2026-11-20 12:00")) == set()
    assert names(teachers_during(school, start, end)) == ["Кузнецова Мария Ивановна"]
    previous_week = Week.parse("2026-W46").bounds(KRASNOYARSK)
    next_week = Week.parse("2026-W48").bounds(KRASNOYARSK)
    assert list(teachers_during(school, *previous_week)) == []
    assert list(teachers_during(school, *next_week)) == []
    assert [(g.valid_from, g.valid_to) for g in role_history(teacher, school)] == [
        (local("2026-11-17 09:00"), local("2026-11-19 15:30"))
    ]


@pytest.mark.parametrize("step", [US, SECOND], ids=["microsecond", "second"])
def test_roles_at_reads_from_inclusive_and_to_exclusive(school, teacher, step):
    start, end = local("2026-11-18 12:00"), local("2026-11-20 12:00")
    grant_role(teacher, school, TEACHER, valid_from=start, valid_to=end)

    assert roles_at(teacher, school, start - step) == set()
    assert roles_at(teacher, school, start) == {"teacher"}
    assert roles_at(teacher, school, start + step) == {"teacher"}
    assert roles_at(teacher, school, end - step) == {"teacher"}
    assert roles_at(teacher, school, end) == set()
    assert roles_at(teacher, school, end + step) == set()
    assert holds_role(teacher, school, TEACHER, end - step) is True
    assert holds_role(teacher, school, TEACHER, end) is False


def test_the_boundary_is_the_same_instant_in_any_zone(school, teacher):
    # 05:00 UTC is 12:00 in Krasnoyarsk.
    grant_role(teacher, school, TEACHER, valid_from=datetime(2026, 11, 18, 5, tzinfo=UTC))

    assert roles_at(teacher, school, local("2026-11-18 11:59:59")) == set()
    assert roles_at(teacher, school, local("2026-11-18 12:00")) == {"teacher"}


def test_teachers_during_a_week_counts_anyone_teaching_at_any_moment_of_it(school, week):
    start, end = week
    cases = {
        "Ушла Среда": (local("2026-09-01 00:00"), local("2026-11-18 12:00")),
        "Пришла Среда": (local("2026-11-18 12:00"), None),
        "Ушла РовноВНачале": (local("2026-09-01 00:00"), start),
        "Пришла РовноВКонце": (end, None),
        "Ушла МикросекундаПосле": (local("2026-09-01 00:00"), start + US),
        "Пришла МикросекундаДо": (end - US, None),
        "Была НеделейРаньше": (local("2026-11-09 00:00"), local("2026-11-12 00:00")),
        "Весь Семестр": (local("2026-09-01 00:00"), None),
    }
    for name, (since, until) in cases.items():
        grant_role(make_person(name), school, TEACHER, valid_from=since, valid_to=until)
    # The role ending at the week's first instant and the one starting at the next
    # week's first instant were never held inside [start, end).
    assert names(teachers_during(school, start, end)) == [
        "Весь Семестр",
        "Пришла МикросекундаДо",
        "Пришла Среда",
        "Ушла МикросекундаПосле",
        "Ушла Среда",
    ]


def test_teachers_during_lists_a_person_once_even_with_two_grants_in_the_window(
    school, teacher, week
):
    start, end = week
    grant_role(teacher, school, TEACHER, valid_from=start, valid_to=local("2026-11-18 00:00"))
    grant_role(teacher, school, TEACHER, valid_from=local("2026-11-20 00:00"))

    assert names(teachers_during(school, start, end)) == ["Кузнецова Мария Ивановна"]
    assert role_grants_during([school.pk], [TEACHER], start, end).count() == 2
    assert roles_at(teacher, school, local("2026-11-19 00:00")) == set()


def test_teachers_during_ignores_other_roles_and_other_organizations(
    school, other_school, teacher, week
):
    start, end = week
    admin = make_person("Админова Ольга")
    grant_role(admin, school, ADMIN, valid_from=local("2026-09-01 00:00"))
    grant_role(teacher, other_school, TEACHER, valid_from=local("2026-09-01 00:00"))

    assert list(teachers_during(school, start, end)) == []
    assert names(teachers_during(other_school, start, end)) == ["Кузнецова Мария Ивановна"]


# --- several roles, several organizations ------------------------------------------------


def test_a_person_holds_several_roles_at_once(school, week):
    head = make_person("Директорова Нина Павловна")
    grant_role(head, school, ADMIN, valid_from=local("2026-09-01 00:00"))
    grant_role(head, school, TEACHER, valid_from=local("2026-09-01 00:00"))
    revoke_role(head, school, TEACHER, at=local("2026-11-18 00:00"))

    assert roles_at(head, school, local("2026-11-17 00:00")) == {"admin", "teacher"}
    assert roles_at(head, school, local("2026-11-18 00:00")) == {"admin"}
    assert names(teachers_during(school, *week)) == ["Директорова Нина Павловна"]
    next_week = Week.parse("2026-W48").bounds(KRASNOYARSK)
    assert list(teachers_during(school, *next_week)) == []
    assert current_memberships(head, local("2026-11-17 00:00")) == {school: ["admin", "teacher"]}
    assert current_memberships(head, local("2026-11-18 00:00")) == {school: ["admin"]}


def test_the_same_person_in_two_organizations_is_independent_in_each(
    school, other_school, teacher, week
):
    grant_role(teacher, school, TEACHER, valid_from=local("2026-09-01 00:00"))
    # Not an overlap: another organization.
    grant_role(teacher, other_school, TEACHER, valid_from=local("2026-09-01 00:00"))
    revoke_role(teacher, other_school, TEACHER, at=local("2026-11-18 12:00"))

    after = local("2026-11-19 00:00")
    assert roles_at(teacher, school, after) == {"teacher"}
    assert roles_at(teacher, other_school, after) == set()
    assert roles_at(teacher, other_school, local("2026-11-18 11:59")) == {"teacher"}
    assert names(teachers_during(school, *week)) == ["Кузнецова Мария Ивановна"]
    assert names(teachers_during(other_school, *week)) == ["Кузнецова Мария Ивановна"]
    assert current_memberships(teacher, local("2026-11-17 00:00")) == {
        school: ["teacher"],
        other_school: ["teacher"],
    }
    assert current_memberships(teacher, after) == {school: ["teacher"]}
    assert not role_grants_held_at([other_school.pk], Role.values, after).exists()
    assert role_grants_held_at([school.pk, other_school.pk], [TEACHER], after).count() == 1


# --- refusals: every bad change has a clear error and stores nothing ---------------------


@pytest.mark.parametrize(
    ("existing", "new"),
    [
        (("2026-09-01", None), ("2026-11-01", None)),
        (("2026-09-01", None), ("2026-08-01", "2026-09-02")),
        (("2026-09-01", None), ("2026-09-01", None)),
        (("2026-09-01", "2026-11-01"), ("2026-10-01", "2026-12-01")),
        (("2026-09-01", "2026-11-01"), ("2026-08-01", None)),
        (("2026-09-01", "2026-11-01"), ("2026-09-15", "2026-10-15")),
        (("2026-09-01", "2026-11-01"), ("2026-08-01", "2026-12-01")),
        (("2026-09-01", "2026-11-01"), ("2026-10-31 23:59:59.999999", None)),
    ],
    ids=[
        "open-then-open",
        "open-then-ending-inside",
        "exact-duplicate",
        "closed-then-straddling-end",
        "closed-then-open-from-before",
        "closed-then-inside",
        "closed-then-covering",
        "closed-then-last-microsecond",
    ],
)
def test_an_overlapping_grant_of_the_same_role_is_refused(school, teacher, existing, new):
    def moment(day):
        return local(f"{day} 00:00" if len(day) == 10 else day) if day else None

    grant_role(
        teacher, school, TEACHER, valid_from=moment(existing[0]), valid_to=moment(existing[1])
    )
    before = stored()

    with pytest.raises(RoleError) as refused:
        grant_role(teacher, school, TEACHER, valid_from=moment(new[0]), valid_to=moment(new[1]))

    assert refused.value.code == "overlap"
    interval = (
        "с 01.09.2026 00:00:00, без срока окончания"
        if existing[1] is None
        else "с 01.09.2026 00:00:00 по 01.11.2026 00:00:00"
    )
    assert refused.value.message == (
        "Кузнецова Мария Ивановна уже имеет роль «учитель» в организации «СОШ №1» на это время "
        f"({interval}). Одна и та же роль не выдаётся дважды на одно время."
    )
    assert stored() == before


def test_adjacent_grants_are_allowed_in_either_order(school, teacher):
    a, b, c = local("2026-09-01 00:00"), local("2026-11-18 00:00"), local("2026-12-01 00:00")
    grant_role(teacher, school, TEACHER, valid_from=b, valid_to=c)
    grant_role(teacher, school, TEACHER, valid_from=a, valid_to=b)
    grant_role(teacher, school, TEACHER, valid_from=c)

    assert [(g.valid_from, g.valid_to) for g in role_history(teacher, school)] == [
        (a, b),
        (b, c),
        (c, None),
    ]
    assert roles_at(teacher, school, b - US) == {"teacher"}
    assert roles_at(teacher, school, b) == {"teacher"}
    assert roles_at(teacher, school, c) == {"teacher"}


def test_another_role_at_the_same_time_is_not_an_overlap(school, teacher):
    grant_role(teacher, school, TEACHER, valid_from=local("2026-09-01 00:00"))
    grant_role(teacher, school, Role.STAFF, valid_from=local("2026-09-01 00:00"))

    assert roles_at(teacher, school, local("2026-10-01 00:00")) == {"teacher", "staff"}


@pytest.mark.parametrize(
    "until",
    ["2026-11-18 12:00", "2026-11-18 11:59:59.999999", "2026-09-01 00:00"],
    ids=["equal", "inverted-by-a-microsecond", "inverted"],
)
def test_an_end_not_after_the_start_is_refused(school, teacher, until):
    before = stored()

    with pytest.raises(RoleError) as refused:
        grant_role(
            teacher, school, TEACHER, valid_from=local("2026-11-18 12:00"), valid_to=local(until)
        )

    assert refused.value.code == "empty_interval"
    shown = local(until).strftime("%d.%m.%Y %H:%M:%S")
    assert refused.value.message == (
        f"Окончание роли ({shown}) должно быть позже её начала (18.11.2026 12:00:00)."
    )
    assert stored() == before


@pytest.mark.parametrize(
    ("fields", "what"),
    [
        ({"valid_from": datetime(2026, 11, 18, 12)}, "Начало роли"),
        (
            {"valid_from": local("2026-11-18 12:00"), "valid_to": datetime(2026, 11, 20, 12)},
            "Окончание роли",
        ),
    ],
    ids=["from", "to"],
)
def test_a_naive_time_is_refused_not_guessed(school, teacher, fields, what):
    before = stored()

    with pytest.raises(RoleError) as refused:
        grant_role(teacher, school, TEACHER, **fields)

    assert refused.value.code == "naive_datetime"
    assert refused.value.message == (
        f"{what} указано без часового пояса. "
        "Укажите время с часовым поясом, например 2026-11-16T09:00:00+07:00."
    )
    assert stored() == before


def test_a_naive_revocation_time_is_refused(school, teacher):
    grant_role(teacher, school, TEACHER, valid_from=local("2026-09-01 00:00"))

    with pytest.raises(RoleError) as refused:
        revoke_role(teacher, school, TEACHER, at=datetime(2026, 11, 18, 12))

    assert refused.value.code == "naive_datetime"
    assert RoleGrant.objects.get().valid_to is None


def test_selectors_refuse_naive_times_and_inverted_windows(school, teacher):
    with pytest.raises(ValueError, match="naive datetime"):
        roles_at(teacher, school, datetime(2026, 11, 18, 12))
    with pytest.raises(ValueError, match="naive datetime"):
        teachers_during(school, datetime(2026, 11, 16), local("2026-11-23 00:00"))
    with pytest.raises(ValueError, match=r"ends .* before it starts"):
        teachers_during(school, local("2026-11-23 00:00"), local("2026-11-16 00:00"))


def test_an_unknown_role_is_refused(school, teacher):
    before = stored()

    with pytest.raises(RoleError) as refused:
        grant_role(teacher, school, "director", valid_from=local("2026-09-01 00:00"))
    with pytest.raises(RoleError) as refused_revoke:
        revoke_role(teacher, school, "director", at=local("2026-11-18 00:00"))

    assert refused.value.code == refused_revoke.value.code == "unknown_role"
    assert refused.value.message == (
        "Неизвестная роль «director». Допустимые роли: администратор (admin), учитель (teacher), "
        "сотрудник (staff), ученик (student), родитель (parent)."
    )
    assert stored() == before


def test_a_failed_grant_stores_nothing_even_when_the_audit_write_fails(
    school, teacher, monkeypatch
):
    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit storage is down")

    monkeypatch.setattr(services, "record_audit", broken_audit)

    with pytest.raises(RuntimeError, match="audit storage is down"):
        grant_role(teacher, school, TEACHER, valid_from=local("2026-09-01 00:00"))

    assert stored() == (0, 0)


# --- revoking --------------------------------------------------------------------------


def test_revoking_writes_the_end_and_keeps_the_row(school, teacher):
    director = make_person("Директорова Нина Павловна")
    grant = grant_role(
        teacher, school, TEACHER, valid_from=local("2026-09-01 00:00"), reason="приказ №12"
    )

    revoked = revoke_role(
        teacher,
        school,
        TEACHER,
        at=local("2026-11-18 12:00"),
        revoked_by=director,
        reason="увольнение",
    )

    assert revoked.pk == grant.pk
    row = RoleGrant.objects.get()
    assert row.valid_from == local("2026-09-01 00:00")
    assert row.valid_to == local("2026-11-18 12:00")
    assert row.revoked_by == director
    assert row.reason == "приказ №12; увольнение"


def test_grant_and_revoke_write_audit_entries_with_the_actor(school, teacher):
    director = make_person("Директорова Нина Павловна")
    grant_role(
        teacher,
        school,
        TEACHER,
        valid_from=local("2026-09-01 00:00"),
        granted_by=director,
        reason="приказ №12",
    )
    revoke_role(teacher, school, TEACHER, at=local("2026-11-18 12:00"), revoked_by=director)

    entries = list(AuditEntry.objects.order_by("id"))
    assert [(e.action, e.actor, e.organization, e.subject) for e in entries] == [
        ("role.granted", director, school, teacher),
        ("role.revoked", director, school, teacher),
    ]
    assert entries[0].details == {
        "role": "teacher",
        "valid_from": "2026-09-01T00:00:00+07:00",
        "valid_to": None,
        "reason": "приказ №12",
    }
    assert entries[1].details == {
        "role": "teacher",
        "at": "2026-11-18T12:00:00+07:00",
        "reason": "",
    }


def test_revoking_a_role_never_held_is_refused(school, other_school, teacher):
    grant_role(teacher, other_school, TEACHER, valid_from=local("2026-09-01 00:00"))
    grant_role(teacher, school, ADMIN, valid_from=local("2026-09-01 00:00"))
    before = stored()

    with pytest.raises(RoleError) as refused:
        revoke_role(teacher, school, TEACHER, at=local("2026-11-18 12:00"))

    assert refused.value.code == "nothing_to_revoke"
    assert refused.value.message == (
        "Кузнецова Мария Ивановна не имеет роли «учитель» в организации «СОШ №1» на "
        "18.11.2026 12:00:00 — отзывать нечего."
    )
    assert stored() == before


def test_revoking_before_the_start_is_refused(school, teacher):
    grant_role(teacher, school, TEACHER, valid_from=local("2026-12-01 08:00"))
    before = stored()

    with pytest.raises(RoleError) as refused:
        revoke_role(teacher, school, TEACHER, at=local("2026-11-18 12:00"))
    with pytest.raises(RoleError) as refused_at_start:
        revoke_role(teacher, school, TEACHER, at=local("2026-12-01 08:00"))

    assert refused.value.code == "not_started"
    assert refused.value.message == (
        "Кузнецова Мария Ивановна: роль «учитель» в организации «СОШ №1» начинается только "
        "01.12.2026 08:00:00; отозвать её на 18.11.2026 12:00:00, раньше начала, нельзя."
    )
    assert refused_at_start.value.code == "empty_interval"
    assert stored() == before
    assert RoleGrant.objects.get().valid_to is None


def test_revoking_twice_is_refused_and_the_first_end_stays(school, teacher):
    grant_role(teacher, school, TEACHER, valid_from=local("2026-09-01 00:00"))
    revoke_role(teacher, school, TEACHER, at=local("2026-11-18 12:00"))
    before = stored()

    with pytest.raises(RoleError) as later:
        revoke_role(teacher, school, TEACHER, at=local("2026-11-20 12:00"))
    with pytest.raises(RoleError) as backdated:
        revoke_role(teacher, school, TEACHER, at=local("2026-11-17 12:00"))
    with pytest.raises(RoleError) as now:
        revoke_role(teacher, school, TEACHER)

    assert later.value.code == now.value.code == "nothing_to_revoke"
    assert backdated.value.code == "already_ended"
    assert backdated.value.message == (
        "Кузнецова Мария Ивановна: роль «учитель» в организации «СОШ №1» уже закрыта "
        "(с 01.09.2026 00:00:00 по 18.11.2026 12:00:00); задним числом её окончание не "
        "переносится — история не переписывается."
    )
    assert stored() == before
    assert RoleGrant.objects.get().valid_to == local("2026-11-18 12:00")


def test_a_planned_end_can_be_brought_forward_to_now_but_not_into_the_past(school, teacher):
    now = timezone.now()
    grant_role(
        teacher,
        school,
        TEACHER,
        valid_from=now - timedelta(days=30),
        valid_to=now + timedelta(days=30),
    )

    with pytest.raises(RoleError) as backdated:
        revoke_role(teacher, school, TEACHER, at=now - timedelta(days=1))
    assert backdated.value.code == "already_ended"

    before_revoke = timezone.now()
    revoked = revoke_role(teacher, school, TEACHER)
    assert revoked.valid_to is not None
    assert before_revoke <= revoked.valid_to <= timezone.now()
    assert RoleGrant.objects.count() == 1


def test_remove_from_organization_closes_every_current_role_and_only_those(
    school, other_school, teacher
):
    director = make_person("Директорова Нина Павловна")
    now = timezone.now()
    grant_role(teacher, school, ADMIN, valid_from=now - timedelta(days=60))
    grant_role(teacher, school, TEACHER, valid_from=now - timedelta(days=60))
    grant_role(
        teacher,
        school,
        Role.STAFF,
        valid_from=now - timedelta(days=60),
        valid_to=now + timedelta(days=10),
    )
    past = grant_role(
        teacher,
        school,
        Role.PARENT,
        valid_from=now - timedelta(days=60),
        valid_to=now - timedelta(days=30),
    )
    upcoming = grant_role(teacher, school, Role.PARENT, valid_from=now + timedelta(days=5))
    elsewhere = grant_role(teacher, other_school, TEACHER, valid_from=now - timedelta(days=60))
    audit_before = AuditEntry.objects.count()

    before = timezone.now()
    closed = remove_from_organization(teacher, school, removed_by=director)
    after = timezone.now()

    assert sorted(g.role for g in closed) == ["admin", "staff", "teacher"]
    assert {g.valid_to for g in closed} == {closed[0].valid_to}
    assert closed[0].valid_to is not None and before <= closed[0].valid_to <= after
    assert roles_at(teacher, school, after) == set()
    assert roles_at(teacher, other_school, after) == {"teacher"}
    assert RoleGrant.objects.count() == 6
    past.refresh_from_db()
    upcoming.refresh_from_db()
    elsewhere.refresh_from_db()
    assert past.valid_to == now - timedelta(days=30)
    assert upcoming.valid_to is None
    assert elsewhere.valid_to is None
    revocations = AuditEntry.objects.filter(action="role.revoked")
    assert AuditEntry.objects.count() == audit_before + 3
    assert {(e.actor, e.subject, e.details["role"]) for e in revocations} == {
        (director, teacher, "admin"),
        (director, teacher, "staff"),
        (director, teacher, "teacher"),
    }


# --- the database keeps the rule even when the service is bypassed ----------------------


@pytest.mark.parametrize(
    "until", ["2026-11-18 12:00", "2026-11-18 11:00"], ids=["equal", "inverted"]
)
def test_the_database_refuses_an_empty_or_inverted_grant(school, teacher, until):
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleGrant.objects.create(
            person=teacher,
            organization=school,
            role=TEACHER,
            valid_from=local("2026-11-18 12:00"),
            valid_to=local(until),
        )
    assert RoleGrant.objects.count() == 0


def test_the_database_refuses_closing_a_grant_before_its_start(school, teacher):
    grant_role(teacher, school, TEACHER, valid_from=local("2026-11-18 12:00"))

    with pytest.raises(IntegrityError), transaction.atomic():
        RoleGrant.objects.update(valid_to=local("2026-11-18 12:00"))
    assert RoleGrant.objects.get().valid_to is None


# --- concurrency --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_grants_of_the_same_role_store_exactly_one(school, monkeypatch):
    """The first grant pauses after its overlap check, inside its transaction; the second
    starts then. Without a lock that waits for the first to commit, both would pass."""
    person = make_person("Гонкина Вера")
    first_inside = threading.Event()
    real_audit = services.record_audit

    def slow_audit(*args, **kwargs):
        if threading.current_thread().name == "first":
            first_inside.set()
            time.sleep(0.5)
        return real_audit(*args, **kwargs)

    monkeypatch.setattr(services, "record_audit", slow_audit)
    outcomes: dict[str, str] = {}

    def grant(name: str) -> None:
        try:
            if name == "second":
                assert first_inside.wait(10)
            grant_role(person, school, TEACHER, valid_from=local("2026-09-01 00:00"))
            outcomes[name] = "granted"
        except RoleError as error:
            outcomes[name] = str(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=grant, args=(n,), name=n) for n in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert outcomes == {"first": "granted", "second": "overlap"}
    assert RoleGrant.objects.filter(person=person).count() == 1
    assert AuditEntry.objects.filter(subject=person, action="role.granted").count() == 1
