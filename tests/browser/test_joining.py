"""Steps 2–5 of the activation letter in a browser: an admin signs in, fills in the profile,
creates the classes, makes a teacher link; a teacher joins by it and the admin approves."""

import pytest
from django.conf import settings

from parta.accounts import sms
from parta.accounts.models import Role
from parta.accounts.selectors import holds_role
from parta.invites.models import InviteLink
from parta.structure.models import SchoolClass
from tests.accounts.conftest import last_code
from tests.caches import clear_cache
from tests.factories import make_class, make_member, make_org
from tests.realtime.sockets import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADMIN_PHONE = "+79131112233"
TEACHER_PHONE = "+79134445566"
STAFF_CLASS = "Учительская (класс для учителей школы)"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def outbox(settings):
    settings.PARTA_SMS_BACKEND = "parta.accounts.sms.LocmemSmsBackend"
    sms.outbox.clear()
    clear_cache()
    yield sms.outbox
    sms.outbox.clear()


def _sign_in_as_application_admin(page, outbox):
    page.goto("/accounts/sign-in/")
    page.get_by_label("Мобильный телефон").fill(ADMIN_PHONE)
    page.get_by_role("button", name="Получить код").click()
    page.get_by_label("Код из SMS").fill(last_code(outbox, ADMIN_PHONE))
    page.get_by_role("button", name="Войти").click()
    page.get_by_label("Фамилия, имя, отчество").fill("Орлова Анна Сергеевна")
    page.get_by_label("Код из SMS").fill(last_code(outbox, ADMIN_PHONE))
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url("**/")


def test_admin_does_steps_two_to_five(page, browser, live_server, outbox):
    school = make_org(name="МБОУ Мотыгинская СОШ №1", admin_application_phone=ADMIN_PHONE)

    # Step 1–2: the admin from the application signs in and opens the management page.
    _sign_in_as_application_admin(page, outbox)
    page.get_by_role("link", name="Управление").click()
    page.get_by_role("link", name="1. Профиль школы").click()

    # Step 2: the school's profile, with a wrong INN first.
    page.get_by_label("ИНН").fill("2426001488")
    page.get_by_label("ОГРН").fill("1022401506346")
    page.get_by_label("КПП").fill("242601001")
    page.get_by_label("ФИО руководителя").fill("Смолина Наталья Николаевна")
    page.get_by_role("button", name="Сохранить профиль").click()
    assert page.get_by_text("Неверная контрольная цифра ИНН.").is_visible()
    page.get_by_label("ИНН").fill("2426001487")
    page.get_by_role("button", name="Сохранить профиль").click()
    assert page.get_by_text("Профиль организации сохранён.").is_visible()
    school.refresh_from_db()
    assert (school.inn, school.head_full_name) == ("2426001487", "Смолина Наталья Николаевна")

    # Step 3: classes by the staffing plan, with the teachers' class.
    page.get_by_role("link", name="Дальше: классы по штатному расписанию").click()
    page.get_by_label("Классы по штатному расписанию").fill("1А–11В")
    page.get_by_label("Создать класс учителей «1*У*Учительский»").check()
    page.get_by_role("button", name="Создать классы").click()
    assert page.get_by_text("Создано классов: 34.").is_visible()
    assert SchoolClass.objects.filter(organization=school).count() == 34

    # Step 4: a teacher link to the teachers' class, shown once, with the warning. No role
    # is chosen for the admin: without one the form says so and makes nothing.
    page.get_by_role("link", name="Дальше: пригласить учителей по ссылке").click()
    assert page.get_by_text("Не размещайте ссылки-приглашения в открытом доступе!").is_visible()
    assert page.get_by_label("Роль").input_value() == ""
    page.get_by_role("button", name="Сделать ссылку").click()
    assert page.get_by_text("Выберите роль, которую даст ссылка.").is_visible()
    assert InviteLink.objects.count() == 0
    page.get_by_label("Роль").select_option(label="учитель")
    page.get_by_label("Класс").select_option(label=STAFF_CLASS)
    page.get_by_role("button", name="Сделать ссылку").click()
    page.wait_for_url("**/links/*/new/")
    url = page.locator("#invite-url").input_value()
    assert "/join/#" in url
    assert page.locator("figure.qr svg").count() == 1
    assert page.get_by_role("button", name="Скопировать").is_visible()
    # A reload makes no second link and shows the token no more.
    page.reload()
    assert page.get_by_role("heading", name="Ссылка уже показана — создайте новую").is_visible()
    assert url.split("#", 1)[1] not in page.content()
    assert InviteLink.objects.count() == 1
    page.go_back()
    page.go_forward()
    assert page.get_by_role("heading", name="Ссылка уже показана — создайте новую").is_visible()
    assert InviteLink.objects.count() == 1

    # A colleague opens the link in their own browser and joins as a new person.
    context = browser.new_context(base_url=live_server.url, locale="ru-RU")
    teacher = context.new_page()
    teacher.goto(url)
    teacher.wait_for_url("**/join/")
    assert teacher.get_by_text("МБОУ Мотыгинская СОШ №1").is_visible()
    assert teacher.get_by_text(STAFF_CLASS).is_visible()
    assert "#" not in teacher.url
    teacher.get_by_label("Мобильный телефон").fill(TEACHER_PHONE)
    teacher.get_by_role("button", name="Получить код").click()
    teacher.get_by_label("Код из SMS").fill(last_code(outbox, TEACHER_PHONE))
    teacher.get_by_label("Фамилия, имя, отчество").fill("Белов Пётр Ильич")
    teacher.get_by_role("button", name="Войти").click()
    teacher.get_by_role("button", name="Присоединиться").click()
    assert teacher.get_by_text("Заявка отправлена").is_visible()

    # The admin confirms the teacher (step 5 can start: teachers are on the platform).
    page.goto(f"/org/{school.pk}/requests/")
    assert page.get_by_text("Белов Пётр Ильич").is_visible()
    page.get_by_role("button", name="Одобрить").click()
    assert page.get_by_text("Заявка одобрена").is_visible()
    from django.utils import timezone

    from parta.accounts.models import Person

    person = Person.objects.get(phone=TEACHER_PHONE)
    assert holds_role(person, school, Role.TEACHER, timezone.now())
    teacher.goto("/my/requests/")
    assert teacher.get_by_text("одобрена").is_visible()
    context.close()


def _fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_on_a_phone_the_admin_makes_a_link_and_copies_it(browser, live_server):
    from playwright.sync_api import expect

    school = make_org(name="МБОУ Мотыгинская СОШ №1")
    admin = make_member(school, Role.ADMIN, "Орлова Анна Сергеевна")
    make_class(school, "1*У*Учительский", is_staff_class=True)
    context = browser.new_context(
        base_url=live_server.url,
        locale="ru-RU",
        viewport=PHONE,
        permissions=["clipboard-read", "clipboard-write"],
    )
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session_cookie(admin),
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.goto(f"/org/{school.pk}/links/")
    assert _fits_the_screen(page)
    confirm = page.get_by_label("Я понимаю, что по этой ссылке человек станет администратором")
    assert not confirm.is_visible()  # asked only for an admin link
    page.get_by_label("Роль").select_option(label="администратор")
    assert confirm.is_visible()
    page.get_by_label("Роль").select_option(label="учитель")
    assert not confirm.is_visible()
    page.get_by_label("Класс").select_option(label=STAFF_CLASS)
    page.get_by_role("button", name="Сделать ссылку").click()
    page.wait_for_url("**/links/*/new/")
    url = page.locator("#invite-url").input_value()
    page.get_by_role("button", name="Скопировать").click()
    expect(page.get_by_role("status")).to_have_text("Ссылка скопирована.")  # waits for it
    assert page.evaluate("navigator.clipboard.readText()") == url
    # The share sheet is offered only where the browser has one.
    has_share = page.evaluate("typeof navigator.share === 'function'")
    assert page.get_by_role("button", name="Поделиться").is_visible() is has_share
    assert _fits_the_screen(page)
    context.close()
