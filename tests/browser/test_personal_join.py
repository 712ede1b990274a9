"""A slip's QR code opened on a new phone: the student's name is shown, the phone and the
SMS code are typed, «Присоединиться» — and the class chat is in the list. Three submits."""

import pytest

from parta.accounts import sms
from parta.accounts.models import Person, Role
from parta.accounts.services import create_person, enrol_student, grant_role
from parta.invites.invitations import InvitationEntry, issue_personal_invitations, unseal
from parta.messaging.models import Conversation
from parta.messaging.services import create_conversation

# The in-memory SMS outbox and empty rate limits, as for the sign-in tests.
from tests.accounts.conftest import last_code, sms_outbox  # noqa: F401
from tests.factories import make_class, make_member, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "+79134445566"


def test_a_student_joins_from_the_slip_s_qr_code_in_three_screens(browser, live_server):
    school = make_org(name="МБОУ Мотыгинская СОШ №1")
    admin = make_member(school, Role.ADMIN, "Орлова Анна Сергеевна")
    teacher = make_member(school, Role.TEACHER, "Белов Пётр Ильич")
    class_5a = make_class(school, "5А", class_teacher=teacher)
    student = create_person(surname="Иванов", name="Пётр", patronymic="Сергеевич")
    grant_role(student, school, Role.STUDENT)
    enrol_student(student, class_5a)
    create_conversation(
        teacher,
        school,
        title="5А — класс",
        purpose=Conversation.Purpose.CLASS,
        school_class=class_5a,
    )
    (invitation,) = issue_personal_invitations(
        school, [InvitationEntry(student, Role.STUDENT, class_5a)], by=admin
    )
    code = unseal(invitation)
    assert code is not None

    context = browser.new_context(
        base_url=live_server.url, locale="ru-RU", viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    posted: list[str] = []
    page.on(
        "request",
        lambda request: (
            posted.append(request.url.removeprefix(live_server.url))
            if request.method == "POST" and request.is_navigation_request()
            else None
        ),
    )
    page.goto(f"/p/#{code}")
    page.wait_for_url("**/p/")
    assert "#" not in page.url
    assert page.get_by_text("Иванов Пётр Сергеевич").is_visible()
    assert page.get_by_text("ученик, 5А, МБОУ Мотыгинская СОШ №1").is_visible()

    page.get_by_label("Мобильный телефон").fill(PHONE)
    page.get_by_role("button", name="Получить код").click()
    page.get_by_label("Код из SMS").fill(last_code(sms.outbox, PHONE))
    page.get_by_role("button", name="Войти").click()
    page.get_by_role("heading", name="Это вы?").wait_for()
    page.get_by_role("button", name="Присоединиться").click()
    page.wait_for_url("**/messages/")

    assert page.get_by_text("5А — класс").first.is_visible()
    # The script's post of the fragment, then the person's three.
    assert posted == ["/p/", "/p/phone/", "/p/code/", "/p/accept/"]
    student.refresh_from_db()
    assert student.phone == PHONE
    assert Person.objects.filter(surname="Иванов").count() == 1
    context.close()
