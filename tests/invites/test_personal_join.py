"""Joining by a personal invitation (/p/#CODE): the roster's record becomes the account, or
is merged into the account the person already has; a record someone signed in as is not
anyone else's to take."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from parta.accounts import sms
from parta.accounts.models import AuditEntry, ClassEnrolment, ParentLink, Person, Role, RoleGrant
from parta.accounts.selectors import class_at, holds_role
from parta.accounts.services import create_person, enrol_student, grant_role, link_parent
from parta.invites.invitations import InvitationEntry, issue_personal_invitations, unseal
from parta.invites.models import PersonalInvitation
from parta.messaging.models import Conversation, ConversationMember, Message
from parta.messaging.services import create_conversation
from tests.accounts.conftest import last_code
from tests.factories import make_person
from tests.invites.conftest import School

PHONE = "+79135550011"
JOIN = reverse("invites:personal-join")
PHONE_STEP = reverse("invites:personal-phone")
CODE_STEP = reverse("invites:personal-code")
ACCEPT = reverse("invites:personal-accept")


@dataclass
class Roster:
    """A family imported from the school's list: nobody has signed in, nobody has a phone."""

    child: Person
    mother: Person
    child_invitation: PersonalInvitation
    mother_invitation: PersonalInvitation
    class_chat: Conversation
    parents_chat: Conversation


def roster_record(name: str, phone: str | None = None) -> Person:
    surname, first, patronymic = Person.split_full_name(name)
    return create_person(surname=surname, name=first, patronymic=patronymic, phone=phone)


@pytest.fixture
def roster(world: School) -> Roster:
    child = roster_record("Иванов Пётр Сергеевич")
    mother = roster_record("Иванова Анна Петровна")
    grant_role(child, world.org, Role.STUDENT)
    enrol_student(child, world.class_5a)
    grant_role(mother, world.org, Role.PARENT)
    link_parent(mother, child)
    # Chats made before the family joins hold their records already.
    class_chat, parents_chat = (
        create_conversation(
            world.teacher_5a, world.org, title=title, purpose=purpose, school_class=world.class_5a
        )
        for title, purpose in (
            ("5А — класс", Conversation.Purpose.CLASS),
            ("5А — родители", Conversation.Purpose.PARENTS),
        )
    )
    child_invitation, mother_invitation = issue_personal_invitations(
        world.org,
        [
            InvitationEntry(child, Role.STUDENT, world.class_5a),
            InvitationEntry(mother, Role.PARENT, world.class_5a, child=child),
        ],
        by=world.admin,
    )
    return Roster(child, mother, child_invitation, mother_invitation, class_chat, parents_chat)


def code_of(invitation: PersonalInvitation) -> str:
    code = unseal(invitation)
    assert code is not None
    return code


def present(client, invitation: PersonalInvitation, *, typed: bool = False):
    code = code_of(invitation)
    # Typed from paper: in two groups, small letters; from the QR: the address's fragment.
    shown = f"{code[:5].lower()}-{code[5:]}" if typed else f"http://testserver/p/#{code}"
    return client.post(JOIN, {"code": shown})


def sign_in_by_phone(client, phone: str = PHONE):
    assert client.post(PHONE_STEP, {"phone": phone})["Location"] == CODE_STEP
    return client.post(CODE_STEP, {"code": last_code(sms.outbox, phone)})


def members(conversation: Conversation) -> set[int]:
    return set(
        ConversationMember.objects.filter(
            conversation=conversation, left_at__isnull=True
        ).values_list("person_id", flat=True)
    )


# --- the screens --------------------------------------------------------------------------


def test_the_code_page_asks_for_the_code_and_posts_the_fragment(client, world):
    page = client.get(JOIN).content.decode()
    assert "Код приглашения" in page
    assert 'data-fragment="code"' in page
    assert '<script type="module" src="/static/invites/join.js"></script>' in page


def test_screen_one_names_the_person_the_child_and_the_school(client, world, roster):
    response = present(client, roster.mother_invitation)
    assert response.status_code == 302
    assert response["Location"] == JOIN
    page = client.get(JOIN).content.decode()
    assert "Приглашение: <strong>Иванова Анна Петровна</strong>" in page
    assert "родитель ученика Иванов П., 5А, МБОУ Мотыгинская СОШ №1" in page
    assert PHONE_STEP in page
    assert "В списке школы указан номер" not in page  # the roster has no phone for her
    assert code_of(roster.mother_invitation) not in page
    assert code_of(roster.mother_invitation) not in str(dict(client.session))


def test_a_typed_code_in_groups_and_small_letters_opens_it_too(client, world, roster):
    assert present(client, roster.child_invitation, typed=True).status_code == 302
    assert "ученик, 5А" in client.get(JOIN).content.decode()


def test_the_roster_phone_is_a_masked_hint(client, world, roster):
    Person.objects.filter(pk=roster.mother.pk).update(phone="+79137654321")
    present(client, roster.mother_invitation)
    page = client.get(JOIN).content.decode()
    assert "В списке школы указан номер +7913*****21" in page
    assert "+79137654321" not in page


def test_an_unknown_code_says_so_and_stores_nothing(client, world, roster):
    response = client.post(JOIN, {"code": "KMXT9-PACRD"})
    assert response.status_code == 404
    assert "Такого приглашения нет: проверьте код на листке." in response.content.decode()
    assert "parta_personal_invitation" not in client.session


def test_a_code_of_the_wrong_length_is_a_form_error(client, world):
    response = client.post(JOIN, {"code": "KMXT9"})
    assert response.status_code == 400
    assert "В коде приглашения 10 букв и цифр" in response.content.decode()


def test_an_expired_invitation_gives_the_unknown_answer(client, world, roster):
    PersonalInvitation.objects.filter(pk=roster.child_invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = present(client, roster.child_invitation)
    assert response.status_code == 404
    assert "Такого приглашения нет" in response.content.decode()


def test_a_used_invitation_says_so_with_a_sign_in_button(client, world, roster):
    PersonalInvitation.objects.filter(pk=roster.child_invitation.pk).update(
        used_at=timezone.now(), used_by=roster.child
    )
    response = present(client, roster.child_invitation)
    page = response.content.decode()
    assert response.status_code == 410
    assert "Это приглашение уже использовано" in page
    assert f'href="{reverse("accounts:sign-in")}">Войти</a>' in page


def test_code_lookups_are_rate_limited(client, world, roster, settings):
    settings.PARTA_INVITES_IP_LIMIT = 2
    for _ in range(2):
        client.post(JOIN, {"code": "KMXT9-PACRD"})
    response = present(client, roster.child_invitation)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Слишком много попыток" in response.content.decode()
    assert "parta_personal_invitation" not in client.session


def test_the_phone_step_without_a_presented_invitation_sends_nothing(client, world):
    assert client.post(PHONE_STEP, {"phone": PHONE}).status_code == 404
    assert sms.outbox == []


def test_too_many_codes_count_down_as_on_the_link_page(client, world, roster):
    present(client, roster.mother_invitation)
    for _ in range(3):
        client.post(PHONE_STEP, {"phone": PHONE})
    response = client.post(PHONE_STEP, {"phone": PHONE})
    assert response.status_code == 429
    page = response.content.decode()
    assert "Новый код можно будет запросить через" in page
    assert "Иванова Анна Петровна" in page  # still the same invitation
    assert len(sms.outbox) == 3


# --- case a: the number has no account: the record becomes it ------------------------------


def test_a_new_number_takes_over_the_record_in_three_screens(client, world, roster):
    people = Person.objects.count()
    present(client, roster.mother_invitation)
    code_page = client.post(PHONE_STEP, {"phone": PHONE})
    assert code_page["Location"] == CODE_STEP
    page = client.get(CODE_STEP).content.decode()
    assert "Мы отправили код на номер +79135550011." in page
    assert "Фамилия, имя, отчество" not in page  # the school knows the name
    assert client.post(CODE_STEP, {"code": last_code(sms.outbox, PHONE)})["Location"] == JOIN
    assert Person.objects.count() == people  # no second person
    roster.mother.refresh_from_db()
    assert roster.mother.phone == PHONE
    assert int(client.session["_auth_user_id"]) == roster.mother.pk

    confirm = client.get(JOIN).content.decode()
    assert "Это вы?" in confirm
    assert "Вы вошли как <strong>Иванова Анна Петровна</strong> (+7913*****11)" in confirm
    done = client.post(ACCEPT)
    assert done["Location"] == reverse("messaging:list")

    invitation = PersonalInvitation.objects.get(pk=roster.mother_invitation.pk)
    assert invitation.used_at is not None and invitation.used_by == roster.mother
    entry = AuditEntry.objects.get(action="invitation.redeemed")
    assert entry.subject == roster.mother
    assert entry.details["phone"] == PHONE and entry.details["merged"] is False
    assert members(roster.parents_chat) >= {roster.mother.pk}
    assert Message.objects.filter(author=roster.mother, service_kind="welcome:parent").exists()
    assert "parta_personal_invitation" not in client.session
    chats = client.get(reverse("messaging:list")).content.decode()
    assert "Вы присоединились к «МБОУ Мотыгинская СОШ №1»" in chats
    assert "5А — родители" in chats


def test_a_signed_in_browser_goes_straight_to_the_confirmation(client, world, roster):
    Person.objects.filter(pk=roster.child.pk).update(phone=PHONE)
    roster.child.refresh_from_db()
    client.force_login(roster.child)
    present(client, roster.child_invitation)
    page = client.get(JOIN).content.decode()
    assert "Это вы?" in page
    assert PHONE_STEP not in page
    client.post(ACCEPT)
    assert PersonalInvitation.objects.get(pk=roster.child_invitation.pk).used_by == roster.child
    assert members(roster.class_chat) >= {roster.child.pk}


def test_the_invitation_opens_again_as_used(client, world, roster):
    client.force_login(roster.child)
    present(client, roster.child_invitation)
    client.post(ACCEPT)
    again = present(client, roster.child_invitation)
    assert again.status_code == 410
    assert 'href="/messages/">К беседам</a>' in again.content.decode()


# --- case b: the number has an account: the record is merged into it ------------------------


def test_a_teacher_who_is_a_parent_gets_the_record_merged(client, world, roster):
    world.teacher.phone = PHONE
    world.teacher.save()
    present(client, roster.mother_invitation)
    assert sign_in_by_phone(client)["Location"] == JOIN
    assert int(client.session["_auth_user_id"]) == world.teacher.pk
    page = client.get(JOIN).content.decode()
    assert "Вы вошли как <strong>Кузнецов Олег Петрович</strong>" in page
    assert "Приглашение будет добавлено к вашей учётной записи" in page

    client.post(ACCEPT)
    roster.mother.refresh_from_db()
    now = timezone.now()
    assert not roster.mother.is_active
    assert holds_role(world.teacher, world.org, Role.PARENT, now)
    assert holds_role(world.teacher, world.org, Role.TEACHER, now)
    assert not RoleGrant.objects.filter(person=roster.mother).exists()
    assert ParentLink.objects.filter(parent=world.teacher, child=roster.child).exists()
    assert not ParentLink.objects.filter(parent=roster.mother).exists()
    assert world.teacher.pk in members(roster.parents_chat)
    assert roster.mother.pk not in members(roster.parents_chat)
    invitation = PersonalInvitation.objects.get(pk=roster.mother_invitation.pk)
    assert invitation.used_by == world.teacher and invitation.person == roster.mother
    assert AuditEntry.objects.filter(action="person.merged", subject=world.teacher).exists()
    assert Message.objects.filter(author=world.teacher, service_kind="welcome:parent").exists()


def test_an_overlapping_grant_of_the_record_is_closed_not_deleted(client, world, roster):
    # The school's parent of another child turns out to be the roster's mother too.
    client.force_login(world.parent)
    present(client, roster.mother_invitation)
    client.post(ACCEPT)
    grant = RoleGrant.objects.get(person=roster.mother, role=Role.PARENT)
    assert grant.valid_to is not None and grant.valid_to <= timezone.now()
    assert "объединена с учётной записью" in grant.reason
    assert set(
        ParentLink.objects.filter(parent=world.parent).values_list("child_id", flat=True)
    ) == {world.student.pk, roster.child.pk}
    assert world.parent.pk in members(roster.parents_chat)


def test_a_student_known_elsewhere_brings_her_class_and_chats(client, world, roster):
    account = make_person("Иванов Пётр Сергеевич", phone=PHONE)
    client.force_login(account)
    present(client, roster.child_invitation)
    client.post(ACCEPT)
    assert class_at(account, timezone.now()) == world.class_5a
    assert not ClassEnrolment.objects.filter(student=roster.child).exists()
    assert ParentLink.objects.filter(parent=roster.mother, child=account).exists()
    assert account.pk in members(roster.class_chat)
    assert roster.child.pk not in members(roster.class_chat)
    # The mother's slip still names the record's child: it is her child now, the account.
    assert ParentLink.objects.filter(child=roster.child).count() == 0


def test_the_record_s_other_invitations_follow_it(client, world, roster):
    second = roster_record("Иванова Мария Сергеевна")
    grant_role(second, world.org, Role.STUDENT)
    enrol_student(second, world.class_6a)
    link_parent(roster.mother, second)
    (other,) = issue_personal_invitations(
        world.org,
        [InvitationEntry(roster.mother, Role.PARENT, world.class_6a, child=second)],
        by=world.admin,
    )
    client.force_login(world.teacher)
    present(client, roster.mother_invitation)
    client.post(ACCEPT)
    other.refresh_from_db()
    assert other.person == world.teacher and other.used_at is None


# --- refusals ---------------------------------------------------------------------------------


def _nothing_stored(roster: Roster, invitation: PersonalInvitation) -> None:
    invitation.refresh_from_db()
    assert invitation.used_at is None and invitation.used_by is None
    assert not AuditEntry.objects.filter(
        action__in=["invitation.redeemed", "person.merged"]
    ).exists()
    assert Person.objects.filter(pk=roster.mother.pk, is_active=True).exists()


def test_a_record_someone_signed_in_as_is_not_another_account_s(client, world, roster):
    Person.objects.filter(pk=roster.mother.pk).update(
        phone="+79137654321", last_login=timezone.now()
    )
    client.force_login(world.teacher)
    present(client, roster.mother_invitation)
    shown = client.get(JOIN)
    assert shown.status_code == 400
    assert "принадлежит учётной записи другого человека" in shown.content.decode()
    # Even posted straight to the accept step.
    present(client, roster.mother_invitation)
    refused = client.post(ACCEPT)
    assert refused.status_code == 400
    assert "принадлежит учётной записи другого человека" in refused.content.decode()
    _nothing_stored(roster, roster.mother_invitation)
    assert holds_role(roster.mother, world.org, Role.PARENT, timezone.now())


def test_a_new_number_does_not_take_over_a_record_someone_signed_in_as(client, world, roster):
    Person.objects.filter(pk=roster.mother.pk).update(
        phone="+79137654321", last_login=timezone.now()
    )
    present(client, roster.mother_invitation)
    response = sign_in_by_phone(client)
    assert response.status_code == 400
    assert "уже входили с другого номера" in response.content.decode()
    roster.mother.refresh_from_db()
    assert roster.mother.phone == "+79137654321"
    assert "_auth_user_id" not in client.session
    _nothing_stored(roster, roster.mother_invitation)


def test_the_child_never_becomes_her_own_parent(client, world, roster):
    Person.objects.filter(pk=roster.child.pk).update(phone=PHONE)
    present(client, roster.mother_invitation)
    sign_in_by_phone(client)  # the child's own phone: she signs in as herself
    refused = client.post(ACCEPT)
    assert refused.status_code == 400
    assert "а вы вошли как сам ученик" in refused.content.decode()
    _nothing_stored(roster, roster.mother_invitation)


def test_a_child_s_slip_on_her_parent_s_phone_merges_nobody(client, world, roster):
    # The mother joined first; then she scans her son's slip on her own phone.
    Person.objects.filter(pk=roster.mother.pk).update(phone=PHONE, last_login=timezone.now())
    present(client, roster.child_invitation)
    sign_in_by_phone(client)
    refused = client.post(ACCEPT)
    assert refused.status_code == 400
    assert "родитель и ребёнок" in refused.content.decode()
    roster.child.refresh_from_db()
    assert roster.child.is_active
    assert class_at(roster.child, timezone.now()) == world.class_5a
    assert PersonalInvitation.objects.get(pk=roster.child_invitation.pk).used_at is None


def test_the_screens_speak_english_too(client, world, roster, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    present(client, roster.mother_invitation)
    page = client.get(JOIN).content.decode()
    assert "Invitation: <strong>Иванова Анна Петровна</strong>" in page
    assert "parent of the student Иванов П., 5А" in page
    assert "Your mobile phone" in page
    unknown = client.post(JOIN, {"code": "KMXT9-PACRD"}).content.decode()
    assert "There is no such invitation: check the code on the slip." in unknown
