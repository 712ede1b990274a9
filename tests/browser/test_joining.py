"""Steps 2–5 of the activation letter in a browser: an admin signs in, fills in the profile,
creates the classes, makes a teacher link; a teacher joins by it and the admin approves."""

import pytest

from parta.accounts import sms
from parta.accounts.models import Role
from parta.accounts.selectors import holds_role
from parta.structure.models import SchoolClass
from tests.accounts.conftest import last_code
from tests.caches import clear_cache
from tests.factories import make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADMIN_PHONE = "+79131112233"
TEACHER_PHONE = "+79134445566"


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

    # Step 4: a teacher link to the teachers' class, shown once, with the warning.
    page.get_by_role("link", name="Дальше: пригласить учителей по ссылке").click()
    assert page.get_by_text("Не размещайте ссылки-приглашения в открытом доступе!").is_visible()
    page.get_by_label("Роль").select_option(label="учитель")
    page.get_by_label("Класс").select_option(label="1*У*Учительский")
    page.get_by_role("button", name="Сделать ссылку").click()
    url = page.locator("#invite-url").input_value()
    assert "/join/#" in url
    assert page.locator("figure.qr svg").count() == 1

    # A colleague opens the link in their own browser and joins as a new person.
    context = browser.new_context(base_url=live_server.url, locale="ru-RU")
    teacher = context.new_page()
    teacher.goto(url)
    teacher.wait_for_url("**/join/")
    assert teacher.get_by_text("МБОУ Мотыгинская СОШ №1").is_visible()
    assert teacher.get_by_text("1*У*Учительский").is_visible()
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
