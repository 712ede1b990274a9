"""A link for one child's parents admits one parent unless an admin confirms each; the
admin role goes to adults only."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from parta.accounts.models import Role
from parta.accounts.selectors import holds_role, parents_of
from parta.accounts.services import RoleError, grant_role
from parta.invites.models import JoinRequest
from parta.invites.services import InviteUnavailable, create_invite, redeem_invite
from tests.factories import make_person
from tests.invites.conftest import make_link


def test_a_parent_link_is_single_use_by_default(world, newcomer):
    new = make_link(world, "parent", actor=world.teacher_5a)
    assert (new.link.max_uses, new.link.needs_approval) == (1, False)
    redeem_invite(new.link.pk, newcomer)
    stranger = make_person("Случайный Человек Иванович")
    with pytest.raises(InviteUnavailable):
        redeem_invite(new.link.pk, stranger)
    assert set(parents_of(world.student)) == {world.parent, newcomer}
    assert not holds_role(stranger, world.org, Role.PARENT, timezone.now())


@pytest.mark.parametrize("max_uses", [2, 50])
def test_a_parent_link_for_many_needs_approval(world, max_uses):
    with pytest.raises(ValidationError) as caught:
        make_link(world, "parent", max_uses=max_uses)
    assert caught.value.code == "parent_link_single_use"
    assert "одноразовая" in caught.value.messages[0]
    # With an admin confirming each parent, a link may serve a family of several.
    confirmed = make_link(world, "parent", max_uses=max_uses, needs_approval=True)
    assert confirmed.link.max_uses == max_uses


def test_an_unlimited_parent_link_is_confirmed_one_by_one(world, newcomer):
    new = make_link(world, "parent", needs_approval=True)
    assert new.link.max_uses is None
    outcome = redeem_invite(new.link.pk, newcomer)
    assert outcome.joined is False
    assert outcome.join_request is not None
    assert outcome.join_request.status == JoinRequest.Status.PENDING
    assert set(parents_of(world.student)) == {world.parent}


def test_the_admin_role_never_goes_to_a_student(world):
    with pytest.raises(RoleError) as caught:
        grant_role(world.student, world.org, Role.ADMIN)
    assert caught.value.code == "admin_not_adult"
    assert not holds_role(world.student, world.org, Role.ADMIN, timezone.now())


def test_an_admin_is_not_enrolled_as_a_student(world):
    with pytest.raises(RoleError) as caught:
        grant_role(world.admin, world.org, Role.STUDENT)
    assert caught.value.code == "admin_not_adult"


def test_a_teacher_who_also_studies_may_be_an_admin(world):
    grant_role(world.teacher, world.org, Role.STUDENT)
    grant_role(world.teacher, world.org, Role.ADMIN)
    assert holds_role(world.teacher, world.org, Role.ADMIN, timezone.now())


def test_the_members_api_refuses_to_make_a_student_an_admin(world):
    client = Client()
    client.force_login(world.admin)
    response = client.post(
        f"/api/invites/organizations/{world.org.pk}/members/{world.student.pk}/roles",
        {"role": "admin"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "только взрослый" in response.json()["detail"]
    assert not holds_role(world.student, world.org, Role.ADMIN, timezone.now())


def test_a_student_redeeming_an_admin_link_is_refused(world):
    new = create_invite(world.org, Role.ADMIN, actor=world.admin, needs_approval=False)
    with pytest.raises(RoleError):
        redeem_invite(new.link.pk, world.student)
    assert not holds_role(world.student, world.org, Role.ADMIN, timezone.now())
