import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from parta.accounts.models import AuditEntry, Role, RoleGrant
from parta.accounts.selectors import class_at, holds_role
from parta.invites.models import JoinRequest
from parta.invites.selectors import members_of
from parta.invites.services import (
    add_role,
    approve_request,
    reject_request,
    remove_member,
    remove_role,
    request_to_join,
)


def test_approval_grants_the_role_through_grant_role(world, newcomer):
    join_request = request_to_join(
        newcomer, world.org, Role.STUDENT, school_class=world.class_6a, message=" Прошу "
    )
    assert join_request.message == "Прошу"
    assert not holds_role(newcomer, world.org, Role.STUDENT, timezone.now())
    approve_request(join_request, actor=world.admin)
    join_request.refresh_from_db()
    assert (join_request.status, join_request.decided_by) == (
        JoinRequest.Status.APPROVED,
        world.admin,
    )
    grant = RoleGrant.objects.get(person=newcomer)
    assert (grant.role, grant.granted_by, grant.reason) == (
        Role.STUDENT,
        world.admin,
        f"Заявка №{join_request.pk}",
    )
    assert class_at(newcomer, timezone.now()) == world.class_6a
    assert AuditEntry.objects.filter(action="join_request.approved", subject=newcomer).exists()


def test_rejection_needs_a_reason_and_the_person_sees_it(client, world, newcomer):
    join_request = request_to_join(newcomer, world.org, Role.TEACHER)
    with pytest.raises(ValidationError):
        reject_request(join_request, actor=world.admin, reason="  ")
    join_request.refresh_from_db()
    assert join_request.status == JoinRequest.Status.PENDING
    reject_request(join_request, actor=world.admin, reason="Не работает в нашей школе")
    client.force_login(newcomer)
    page = client.get(reverse("invites:my-requests")).content.decode()
    assert "отклонена: Не работает в нашей школе" in page
    with pytest.raises(ValidationError) as caught:
        approve_request(join_request, actor=world.admin)
    assert caught.value.code == "decided"
    assert not holds_role(newcomer, world.org, Role.TEACHER, timezone.now())


@pytest.mark.parametrize("actor", ["teacher_5a", "teacher", "student", "parent", "outsider"])
def test_only_admins_decide_requests(world, newcomer, actor):
    join_request = request_to_join(newcomer, world.org, Role.TEACHER)
    with pytest.raises(PermissionDenied):
        approve_request(join_request, actor=getattr(world, actor))
    with pytest.raises(PermissionDenied):
        reject_request(join_request, actor=getattr(world, actor), reason="нет")
    join_request.refresh_from_db()
    assert join_request.status == JoinRequest.Status.PENDING


def test_request_refusals(world, newcomer):
    request_to_join(newcomer, world.org, Role.TEACHER)
    with pytest.raises(ValidationError) as caught:
        request_to_join(newcomer, world.org, Role.TEACHER)
    assert caught.value.code == "already_pending"
    with pytest.raises(ValidationError) as caught:
        request_to_join(world.teacher, world.org, Role.TEACHER)
    assert caught.value.code == "already_member"
    with pytest.raises(ValidationError):
        request_to_join(newcomer, world.org, Role.ADMIN)
    assert JoinRequest.objects.count() == 1


def test_request_page_is_rate_limited(client, world, newcomer, settings):
    settings.PARTA_INVITES_PERSON_LIMIT = 1
    client.force_login(newcomer)
    url = reverse("invites:request-new", args=[world.org.pk])
    client.post(url, {"role": Role.TEACHER})
    response = client.post(url, {"role": Role.STAFF})
    assert "Слишком много попыток" in response.content.decode()
    assert JoinRequest.objects.filter(person=newcomer).count() == 1


def test_members_by_role_class_and_search(world):
    now = timezone.now()
    everyone = {member.person for member in members_of(world.org, now)}
    assert world.outsider not in everyone and world.student in everyone
    students = members_of(world.org, now, role=Role.STUDENT)
    assert [(m.person, m.school_class) for m in students] == [(world.student, world.class_5a)]
    assert [m.person for m in members_of(world.org, now, school_class=world.class_6a)] == []
    assert [m.person for m in members_of(world.org, now, query="белов пётр")] == [world.teacher_5a]
    phone = world.parent.phone
    assert [m.person for m in members_of(world.org, now, query="8" + phone[2:])] == [world.parent]


def test_roles_added_and_removed_with_history_and_audit(world):
    add_role(world.teacher, world.org, Role.ADMIN, actor=world.admin)
    assert holds_role(world.teacher, world.org, Role.ADMIN, timezone.now())
    remove_role(world.teacher, world.org, Role.ADMIN, actor=world.admin)
    grants = RoleGrant.objects.filter(person=world.teacher, role=Role.ADMIN)
    assert grants.count() == 1 and grants.get().valid_to is not None
    assert grants.get().revoked_by == world.admin
    actions = list(
        AuditEntry.objects.filter(subject=world.teacher, actor=world.admin).values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["role.granted", "role.revoked"]


def test_the_last_admin_is_not_removed(world):
    with pytest.raises(ValidationError) as caught:
        remove_role(world.admin, world.org, Role.ADMIN, actor=world.admin)
    assert caught.value.code == "last_admin"
    with pytest.raises(ValidationError):
        remove_member(world.admin, world.org, actor=world.admin)
    assert holds_role(world.admin, world.org, Role.ADMIN, timezone.now())


def test_removing_a_member_closes_every_role(world):
    add_role(world.teacher, world.org, Role.STAFF, actor=world.admin)
    remove_member(world.teacher, world.org, actor=world.admin)
    now = timezone.now()
    assert not holds_role(world.teacher, world.org, Role.TEACHER, now)
    assert not holds_role(world.teacher, world.org, Role.STAFF, now)
    entry = AuditEntry.objects.get(action="member.removed")
    assert (entry.actor, entry.subject, entry.details["roles"]) == (
        world.admin,
        world.teacher,
        ["staff", "teacher"],
    )
    with pytest.raises(ValidationError):
        remove_member(world.teacher, world.org, actor=world.admin)


@pytest.mark.parametrize("actor", ["teacher_5a", "teacher", "student", "parent", "outsider"])
def test_only_admins_manage_members(world, actor):
    with pytest.raises(PermissionDenied):
        add_role(world.teacher, world.org, Role.ADMIN, actor=getattr(world, actor))
    with pytest.raises(PermissionDenied):
        remove_member(world.teacher, world.org, actor=getattr(world, actor))
    assert holds_role(world.teacher, world.org, Role.TEACHER, timezone.now())
    assert not holds_role(world.teacher, world.org, Role.ADMIN, timezone.now())


def test_member_pages_and_audit_log_for_admins_only(client, world):
    client.force_login(world.admin)
    listing = client.get(reverse("invites:members", args=[world.org.pk]), {"q": "Петров"})
    assert "Петров Иван Олегович" in listing.content.decode()
    client.post(
        reverse("invites:member", args=[world.org.pk, world.teacher.pk]),
        {"action": "remove"},
    )
    log = client.get(reverse("invites:audit", args=[world.org.pk])).content.decode()
    assert "member.removed" in log and "Кузнецов Олег Петрович" in log
    for outsider in (world.teacher_5a, world.outsider, world.student):
        client.force_login(outsider)
        assert client.get(reverse("invites:audit", args=[world.org.pk])).status_code == 403
        assert client.get(reverse("invites:members", args=[world.org.pk])).status_code == 403


def test_class_teacher_opens_own_students_profile_to_invite_parents(client, world):
    client.force_login(world.teacher_5a)
    page = client.get(reverse("invites:member", args=[world.org.pk, world.student.pk]))
    assert "Сделать ссылку для родителя" in page.content.decode()
    client.force_login(world.teacher_6a)
    assert (
        client.get(reverse("invites:member", args=[world.org.pk, world.student.pk])).status_code
        == 403
    )


def test_adding_a_role_on_the_profile_has_no_default_role(client, world):
    """Issue 15: «администратор» came first and so was chosen; now nothing is."""
    client.force_login(world.admin)
    url = reverse("invites:member", args=[world.org.pk, world.teacher.pk])
    page = client.get(url).content.decode()
    assert '<option value="" selected>— выберите роль —</option>' in page
    assert 'name="role" required' in page
    grants = RoleGrant.objects.count()
    for bad in ("", "superuser"):
        response = client.post(url, {"action": "add_role", "role": bad}, follow=True)
        assert response.status_code == 200
        assert RoleGrant.objects.count() == grants  # nothing stored
        text = response.content.decode()
        assert "Сохранено." not in text
        assert ("Выберите роль, которую добавить." if not bad else "Выберите корректный") in text
    client.post(url, {"action": "add_role", "role": Role.STAFF})
    assert holds_role(world.teacher, world.org, Role.STAFF, timezone.now())
