from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from parta.accounts.models import AuditEntry, ParentLink, Role
from parta.accounts.selectors import class_at, holds_role, parents_of
from parta.accounts.services import revoke_role
from parta.invites import tokens
from parta.invites.models import InviteLink, InviteRedemption, JoinRequest
from parta.invites.services import (
    InviteUnavailable,
    invite_by_token,
    redeem_invite,
    revoke_invite,
)
from tests.factories import make_person
from tests.invites.conftest import make_link

ACTORS = ["admin", "teacher_5a", "teacher_6a", "teacher", "student", "parent", "outsider"]
MAY_MAKE = {
    "admin": {"teacher", "student", "parent"},
    "teacher_5a": {"student", "parent"},
}


@pytest.mark.parametrize("kind", ["teacher", "student", "parent"])
@pytest.mark.parametrize("actor", ACTORS)
def test_who_may_make_each_kind_of_link(world, actor, kind):
    allowed = kind in MAY_MAKE.get(actor, set())
    if allowed:
        new = make_link(world, kind, actor=getattr(world, actor))
        assert new.link.created_by == getattr(world, actor)
        assert new.link.school_class == (world.staff_class if kind == "teacher" else world.class_5a)
        assert (
            AuditEntry.objects.filter(action="invite.created", actor=new.link.created_by).count()
            == 1
        )
    else:
        with pytest.raises(PermissionDenied):
            make_link(world, kind, actor=getattr(world, actor))
        assert InviteLink.objects.count() == 0
        assert not AuditEntry.objects.filter(action="invite.created").exists()


@pytest.mark.parametrize("kind", ["teacher", "student", "parent"])
def test_anonymous_may_not_make_links(client, world, kind):
    data = {"child": world.student.pk} if kind == "parent" else {"role": kind, "expires_in_days": 7}
    response = client.post(reverse("invites:link-create", args=[world.org.pk]), data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:sign-in"))
    assert InviteLink.objects.count() == 0


MAY_REVOKE = {"admin": {"teacher", "student", "parent"}, "teacher_5a": {"student", "parent"}}


@pytest.mark.parametrize("kind", ["teacher", "student", "parent"])
@pytest.mark.parametrize("actor", ACTORS)
def test_who_may_revoke_each_kind_of_link(world, actor, kind):
    link = make_link(world, kind).link
    if kind in MAY_REVOKE.get(actor, set()):
        revoke_invite(link, actor=getattr(world, actor))
        link.refresh_from_db()
        assert link.revoked_by == getattr(world, actor)
        assert AuditEntry.objects.filter(action="invite.revoked").count() == 1
    else:
        with pytest.raises(PermissionDenied):
            revoke_invite(link, actor=getattr(world, actor))
        link.refresh_from_db()
        assert link.revoked_at is None


def test_anonymous_may_not_revoke(client, world):
    link = make_link(world, "student").link
    response = client.post(reverse("invites:link-revoke", args=[link.pk]))
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is None


@pytest.mark.parametrize("actor", ["teacher_6a", "teacher", "student", "parent", "outsider"])
def test_class_teacher_of_another_class_or_nobody_else_cannot_invite_to_5a(world, actor):
    with pytest.raises(PermissionDenied):
        make_link(world, "student", actor=getattr(world, actor))


def test_class_teacher_cannot_invite_teachers_even_to_own_class(world):
    from parta.invites.services import create_invite

    with pytest.raises(PermissionDenied):
        create_invite(world.org, Role.TEACHER, actor=world.teacher_5a, school_class=world.class_5a)


@pytest.mark.parametrize("actor", [actor for actor in ACTORS if actor != "admin"])
def test_anyone_signed_in_uses_a_student_link_and_lands_in_its_class(world, actor):
    person = getattr(world, actor)
    link = make_link(world, "student").link
    outcome = redeem_invite(link.pk, person)
    assert outcome.joined is True
    assert holds_role(person, world.org, Role.STUDENT, timezone.now())
    assert class_at(person, timezone.now()) == world.class_5a
    link.refresh_from_db()
    assert link.uses == 1
    assert list(link.redemptions.values_list("person", flat=True)) == [person.pk]


def test_the_school_s_admin_cannot_become_one_of_its_students_by_a_link(world):
    link = make_link(world, "student").link
    with pytest.raises(ValidationError) as caught:
        redeem_invite(link.pk, world.admin)
    assert caught.value.code == "admin_not_adult"
    assert not holds_role(world.admin, world.org, Role.STUDENT, timezone.now())
    link.refresh_from_db()
    assert link.uses == 0


def test_student_link_grant_names_the_link_maker(world, newcomer):
    link = make_link(world, "student", actor=world.teacher_5a).link
    redeem_invite(link.pk, newcomer)
    grant = newcomer.role_grants.get()
    assert (grant.role, grant.granted_by, grant.reason) == (
        Role.STUDENT,
        world.teacher_5a,
        f"Ссылка-приглашение №{link.pk}",
    )


def test_anonymous_cannot_redeem(client, world):
    link = make_link(world, "student").link
    response = client.post(reverse("invites:join-accept"))
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.uses == 0


def test_token_is_long_random_and_only_its_hmac_is_stored(world):
    first, second = make_link(world, "student"), make_link(world, "student")
    assert first.token != second.token
    assert len(first.token) >= 43  # 32 bytes in URL-safe base64: 256 bits
    assert first.link.token_hash == tokens.token_hash(first.token) != first.token
    stored = InviteLink.objects.filter(pk=first.link.pk).values().get()
    assert not any(first.token in str(value) for value in stored.values())
    assert first.link.token_hint == first.token[-4:]
    assert first.path == f"/join/#{first.token}"


def test_expired_revoked_used_up_and_unknown_links_look_the_same(world, newcomer):
    expired = make_link(world, "student")
    InviteLink.objects.filter(pk=expired.link.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    revoked = make_link(world, "student")
    revoke_invite(revoked.link, actor=world.admin)
    used_up = make_link(world, "student", max_uses=1)
    redeem_invite(used_up.link.pk, newcomer)
    messages = set()
    for token in (expired.token, revoked.token, used_up.token, tokens.new_token()):
        with pytest.raises(InviteUnavailable) as caught:
            invite_by_token(token)
        messages.add(str(caught.value))
    assert len(messages) == 1


def test_same_page_for_every_unusable_link(client, world, newcomer):
    revoked = make_link(world, "student")
    revoke_invite(revoked.link, actor=world.admin)
    used_up = make_link(world, "student", max_uses=1)
    redeem_invite(used_up.link.pk, newcomer)
    bodies = set()
    for token in (revoked.token, used_up.token, "no-such-token"):
        response = client.post(reverse("invites:join"), {"token": token})
        assert response.status_code == 404
        text = response.content.decode()
        bodies.add(text[text.index("<main>") : text.index("</main>")])
    assert len(bodies) == 1
    assert "недействительна" in bodies.pop()


def test_link_expires_after_seven_days_by_default(world):
    new = make_link(world, "student")
    assert (
        timedelta(days=7) - timedelta(seconds=5)
        < new.link.expires_at - timezone.now()
        <= timedelta(days=7)
    )
    invite_by_token(new.token, now=new.link.expires_at - timedelta(seconds=1))
    with pytest.raises(InviteUnavailable):
        invite_by_token(new.token, now=new.link.expires_at)


def test_use_limit(world, newcomer):
    new = make_link(world, "student", max_uses=2)
    redeem_invite(new.link.pk, newcomer)
    redeem_invite(new.link.pk, make_person("Третьяков Лев Ильич"))
    late = make_person("Опоздавший Кирилл Ильич")
    with pytest.raises(InviteUnavailable):
        redeem_invite(new.link.pk, late)
    assert not holds_role(late, world.org, Role.STUDENT, timezone.now())
    assert InviteRedemption.objects.filter(invite=new.link).count() == 2


def test_revoked_link_admits_nobody(world, newcomer):
    new = make_link(world, "student")
    revoke_invite(new.link, actor=world.teacher_5a)
    with pytest.raises(InviteUnavailable):
        redeem_invite(new.link.pk, newcomer)
    assert not newcomer.role_grants.exists()


def test_using_the_same_link_twice_is_refused(world, newcomer):
    new = make_link(world, "student")
    redeem_invite(new.link.pk, newcomer)
    with pytest.raises(ValidationError) as caught:
        redeem_invite(new.link.pk, newcomer)
    assert caught.value.code == "already_used"
    new.link.refresh_from_db()
    assert new.link.uses == 1


def test_link_dies_with_its_makers_right(world, newcomer):
    new = make_link(world, "student", actor=world.teacher_5a)
    world.class_5a.class_teacher = world.teacher_6a
    world.class_5a.save()
    with pytest.raises(InviteUnavailable):
        invite_by_token(new.token)
    admin_link = make_link(world, "student")
    revoke_role(world.admin, world.org, Role.ADMIN)
    with pytest.raises(InviteUnavailable):
        redeem_invite(admin_link.link.pk, newcomer)


def test_teacher_link_needs_approval_by_default(world, newcomer):
    new = make_link(world, "teacher")
    assert new.link.needs_approval is True
    assert make_link(world, "student").link.needs_approval is False
    outcome = redeem_invite(new.link.pk, newcomer)
    assert outcome.joined is False
    assert not holds_role(newcomer, world.org, Role.TEACHER, timezone.now())
    join_request = JoinRequest.objects.get(person=newcomer)
    assert (join_request.role, join_request.status, join_request.school_class) == (
        Role.TEACHER,
        JoinRequest.Status.PENDING,
        world.staff_class,
    )
    assert InviteRedemption.objects.get(invite=new.link).join_request == join_request


def test_parent_link_links_parent_to_child(world, newcomer):
    new = make_link(world, "parent", actor=world.teacher_5a)
    assert new.link.school_class == world.class_5a
    redeem_invite(new.link.pk, newcomer)
    assert set(parents_of(world.student)) == {world.parent, newcomer}
    assert holds_role(newcomer, world.org, Role.PARENT, timezone.now())


def test_existing_parent_gets_a_second_child_through_a_link(world):
    sibling = make_person("Петрова Алиса Олеговна")
    from parta.accounts.services import enrol_student, grant_role

    grant_role(sibling, world.org, Role.STUDENT)
    enrol_student(sibling, world.class_6a)
    from parta.invites.services import create_invite

    new = create_invite(world.org, Role.PARENT, actor=world.teacher_6a, child=sibling)
    redeem_invite(new.link.pk, world.parent)
    assert set(ParentLink.objects.filter(parent=world.parent).values_list("child", flat=True)) == {
        world.student.pk,
        sibling.pk,
    }
    assert world.parent.role_grants.filter(role=Role.PARENT).count() == 1


def test_child_can_never_become_their_own_parent(world):
    new = make_link(world, "parent")
    with pytest.raises(ValidationError) as caught:
        redeem_invite(new.link.pk, world.student)
    assert caught.value.code == "self_parent"
    assert not ParentLink.objects.filter(parent=world.student).exists()
    assert not holds_role(world.student, world.org, Role.PARENT, timezone.now())
    new.link.refresh_from_db()
    assert new.link.uses == 0


def test_child_signed_in_in_the_parents_browser_is_refused(client, world):
    """The parent opens the link where the child is signed in: the child must not become parent."""
    new = make_link(world, "parent", needs_approval=True)
    client.force_login(world.student)
    client.post(reverse("invites:join"), {"token": new.token})
    page = client.get(reverse("invites:join"))
    assert "Петров И." in page.content.decode()
    response = client.post(reverse("invites:join-accept"))
    assert response.status_code == 400
    assert "вы вошли как сам ученик" in response.content.decode()
    assert not JoinRequest.objects.exists()
    assert not ParentLink.objects.filter(parent=world.student).exists()


def test_parent_link_needs_a_current_student_as_child(world):
    from parta.invites.services import create_invite

    with pytest.raises(ValidationError):
        create_invite(world.org, Role.PARENT, actor=world.admin)
    with pytest.raises(ValidationError):
        create_invite(world.org, Role.PARENT, actor=world.admin, child=world.teacher)
    assert InviteLink.objects.count() == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"expires_in_days": 0}, "от 1 до 30"),
        ({"expires_in_days": 31}, "от 1 до 30"),
        ({"max_uses": 0}, "не меньше 1"),
    ],
)
def test_bad_link_options_are_refused_and_store_nothing(world, options, message):
    with pytest.raises(ValidationError) as caught:
        make_link(world, "student", **options)
    assert message in caught.value.messages[0]
    assert InviteLink.objects.count() == 0


def test_students_are_not_invited_to_the_teachers_class(world):
    from parta.invites.services import create_invite

    with pytest.raises(ValidationError):
        create_invite(world.org, Role.STUDENT, actor=world.admin, school_class=world.staff_class)
