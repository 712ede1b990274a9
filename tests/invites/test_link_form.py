"""The link form and the page that shows a new link: no default role, a second yes for an
admin link, create-then-redirect (the token shown once, to the browser that made the link),
and texts written for whoever reads them."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from parta.accounts.models import AuditEntry, Role
from parta.invites import tokens
from parta.invites.models import InviteLink, JoinRequest
from parta.invites.services import redeem_invite
from tests.factories import make_member
from tests.invites.conftest import make_link, token_on_page

STAFF_CLASS = "Учительская (класс для учителей школы)"
CONFIRM = "Я понимаю, что по этой ссылке человек станет администратором школы"


def _create(client: Client, world, **data):
    return client.post(reverse("invites:link-create", args=[world.org.pk]), data)


def _teacher_link(world) -> dict[str, object]:
    return {"role": Role.TEACHER, "school_class": world.staff_class.pk, "expires_in_days": 7}


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.admin)
    return client


def test_the_form_has_no_role_chosen_and_names_the_teachers_class(admin_client, world):
    page = admin_client.get(reverse("invites:links", args=[world.org.pk])).content.decode()
    assert '<option value="" selected>— выберите роль —</option>' in page
    assert 'value="admin" selected' not in page
    assert f'<option value="{world.staff_class.pk}">{STAFF_CLASS}</option>' in page
    assert ">1*У*Учительский<" not in page
    assert CONFIRM in page
    assert "invites/links.js" in page


def test_a_link_without_a_role_is_refused_and_nothing_stored(admin_client, world):
    response = _create(admin_client, world, school_class=world.class_5a.pk, expires_in_days=7)
    assert response.status_code == 400
    assert "Выберите роль, которую даст ссылка." in response.content.decode()
    assert InviteLink.objects.count() == 0
    assert not AuditEntry.objects.filter(action="invite.created").exists()


def test_an_unknown_role_is_a_form_error(admin_client, world):
    response = _create(admin_client, world, role="superuser", expires_in_days=7)
    assert response.status_code == 400
    assert "Выберите корректный вариант" in response.content.decode()
    assert InviteLink.objects.count() == 0


def test_an_admin_link_without_the_second_yes_is_refused_and_nothing_stored(admin_client, world):
    response = _create(admin_client, world, role=Role.ADMIN, expires_in_days=7)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Подтвердите, что по этой ссылке человек станет администратором школы" in page
    # The page after the refusal is the organization's own (its menu, its links).
    assert reverse("invites:audit", args=[world.org.pk]) in page
    assert InviteLink.objects.count() == 0
    assert not AuditEntry.objects.filter(action="invite.created").exists()


def test_an_admin_link_with_the_second_yes_is_made(admin_client, world):
    response = _create(admin_client, world, role=Role.ADMIN, confirm_admin="on", expires_in_days=7)
    link = InviteLink.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("invites:link-created", args=[link.pk])
    assert (link.role, link.needs_approval, link.created_by) == (Role.ADMIN, True, world.admin)


def test_the_second_yes_is_not_asked_for_other_roles(admin_client, world):
    response = _create(admin_client, world, **_teacher_link(world))
    assert response.status_code == 302
    assert InviteLink.objects.get().role == Role.TEACHER


def test_a_class_teacher_has_one_role_and_no_admin_question(client, world):
    client.force_login(world.teacher_5a)
    page = client.get(reverse("invites:links", args=[world.org.pk])).content.decode()
    assert "— выберите роль —" not in page
    assert CONFIRM not in page
    select = page[page.index('<select name="role"') : page.index("</select>")]
    assert select.count("<option") == 1 and '<option value="student">ученик</option>' in select
    response = _create(
        client, world, role=Role.STUDENT, school_class=world.class_5a.pk, expires_in_days=7
    )
    assert response.status_code == 302
    assert InviteLink.objects.get().school_class == world.class_5a


def test_a_class_teacher_cannot_post_an_admin_link(client, world):
    client.force_login(world.teacher_5a)
    response = _create(client, world, role=Role.ADMIN, confirm_admin="on", expires_in_days=7)
    assert response.status_code == 400
    assert InviteLink.objects.count() == 0


def test_the_new_link_is_shown_once_then_the_page_says_so(admin_client, world):
    created = _create(admin_client, world, **_teacher_link(world))
    link = InviteLink.objects.get()
    assert tokens.join_path("") not in created["Location"]  # no token in the redirect
    shown = admin_client.get(created["Location"])
    assert shown.status_code == 200
    assert shown["Cache-Control"] == "no-store"
    page = shown.content.decode()
    token = token_on_page(page)
    assert tokens.token_hash(token) == link.token_hash
    for words in ("Скопировать", "Поделиться", "Не размещайте ссылки-приглашения"):
        assert words in page
    assert "<svg" in page

    again = admin_client.get(created["Location"])
    assert again.status_code == 410
    assert again["Cache-Control"] == "no-store"
    text = again.content.decode()
    assert "Ссылка уже показана — создайте новую" in text
    assert f'href="{reverse("invites:links", args=[world.org.pk])}"' in text
    assert token not in text
    assert InviteLink.objects.count() == 1  # a reload makes no second link


def test_the_token_waits_in_a_cookie_for_the_showing_page_only(admin_client, world):
    created = _create(admin_client, world, **_teacher_link(world))
    cookie = created.cookies["parta_new_invite"]
    assert cookie["path"] == created["Location"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert int(cookie["max-age"]) <= 600
    shown = admin_client.get(created["Location"])
    assert shown.cookies["parta_new_invite"].value == ""  # dropped once shown
    assert shown.cookies["parta_new_invite"]["max-age"] == 0


def test_the_session_row_never_holds_the_token(admin_client, world):
    created = _create(admin_client, world, **_teacher_link(world))
    token = token_on_page(admin_client.get(created["Location"]).content.decode())
    _create(admin_client, world, **_teacher_link(world))  # one more, not yet shown
    for session in Session.objects.all():
        assert token not in session.session_data
        assert token not in str(session.get_decoded())
    for stored in InviteLink.objects.values():
        assert not any(token in str(value) for value in stored.values())


def test_another_persons_session_cannot_read_the_new_link(admin_client, world):
    created = _create(admin_client, world, **_teacher_link(world))
    other_admin = make_member(world.org, Role.ADMIN, "Зайцева Мария Петровна")
    other = Client()
    other.force_login(other_admin)
    # Even with the maker's cookie copied over: it is signed for the maker's session.
    other.cookies["parta_new_invite"] = created.cookies["parta_new_invite"].value
    stolen = other.get(created["Location"])
    assert stolen.status_code == 410
    assert "/join/#" not in stolen.content.decode()
    stranger = Client()
    stranger.force_login(world.outsider)
    assert stranger.get(created["Location"]).status_code == 403
    # The maker still sees it: nobody else's visit used it up.
    assert admin_client.get(created["Location"]).status_code == 200


def test_a_tampered_token_cookie_shows_nothing(admin_client, world):
    created = _create(admin_client, world, **_teacher_link(world))
    admin_client.cookies["parta_new_invite"] = "a-guess:forged"
    response = admin_client.get(created["Location"])
    assert response.status_code == 410
    assert "/join/#" not in response.content.decode()


def test_the_showing_page_takes_no_post(admin_client, world):
    created = _create(admin_client, world, **_teacher_link(world))
    assert admin_client.post(created["Location"]).status_code == 405
    assert InviteLink.objects.count() == 1
    assert admin_client.get(created["Location"]).status_code == 200


def test_a_parent_link_goes_the_same_way_and_points_back_to_the_child(client, world):
    client.force_login(world.teacher_5a)
    created = client.post(
        reverse("invites:link-create", args=[world.org.pk]), {"child": world.student.pk}
    )
    link = InviteLink.objects.get()
    assert (link.role, link.child) == (Role.PARENT, world.student)
    assert client.get(created["Location"]).status_code == 200
    again = client.get(created["Location"]).content.decode()
    member = reverse("invites:member", args=[world.org.pk, world.student.pk])
    assert f'href="{member}"' in again


def test_the_makers_pages_speak_to_the_maker_and_the_join_page_to_the_joiner(admin_client, world):
    created = _create(admin_client, world, **_teacher_link(world))
    shown = admin_client.get(created["Location"]).content.decode()
    detail = admin_client.get(reverse("invites:link", args=[InviteLink.objects.get().pk]))
    for page in (shown, detail.content.decode()):
        assert "вашу роль" not in page
        assert "одобрит его заявку в разделе «Заявки»" in page
        assert STAFF_CLASS in page
    joiner = Client()
    joiner.post(reverse("invites:join"), {"token": token_on_page(shown)})
    join_page = joiner.get(reverse("invites:join")).content.decode()
    assert "администратор школы подтвердит вашу роль" in join_page
    assert f"<dd>{STAFF_CLASS}</dd>" in join_page


def test_the_approval_message_names_the_role_and_class(admin_client, world, newcomer):
    redeem_invite(make_link(world, "teacher").link.pk, newcomer)
    join_request = JoinRequest.objects.get(person=newcomer)
    response = admin_client.post(
        reverse("invites:request-decide", args=[join_request.pk]),
        {"decision": "approve"},
        follow=True,
    )
    assert (
        "Заявка одобрена: Новикова Дарья Андреевна получил(а) роль «учитель», "
        f"класс — {STAFF_CLASS}." in response.content.decode()
    )


def test_the_new_link_pages_in_english(admin_client, world):
    admin_client.post(reverse("set_language"), {"language": "en", "next": "/"})
    form = admin_client.get(reverse("invites:links", args=[world.org.pk])).content.decode()
    assert "— choose a role —" in form
    assert "Staff room (the class for the school&#x27;s teachers)" in form
    created = _create(admin_client, world, **_teacher_link(world))
    shown = admin_client.get(created["Location"]).content.decode()
    assert ">Copy</button>" in shown and ">Share</button>" in shown
    again = admin_client.get(created["Location"]).content.decode()
    assert "The link has already been shown — make a new one" in again
