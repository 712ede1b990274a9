import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from parta.accounts.models import AuditEntry, Role
from parta.schools.services import update_profile
from tests.factories import make_member

GOOD = {"inn": "2426001487", "ogrn": "1022401506346", "kpp": "242601001"}


@pytest.fixture
def admin(school):
    return make_member(school, Role.ADMIN, "Орлова Анна Сергеевна")


def test_admin_edits_the_profile(school, admin):
    update_profile(school, actor=admin, head_full_name="Смолина Н. Н.", phone="22506", **GOOD)
    school.refresh_from_db()
    assert (school.inn, school.ogrn, school.kpp, school.head_full_name) == (
        "2426001487",
        "1022401506346",
        "242601001",
        "Смолина Н. Н.",
    )
    entry = AuditEntry.objects.get(action="organization.profile_updated")
    assert entry.details["fields"] == ["head_full_name", "inn", "kpp", "ogrn", "phone"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("inn", "2426001488", "Неверная контрольная цифра ИНН."),
        ("ogrn", "1022401506347", "Неверная контрольная цифра ОГРН."),
        ("kpp", "24260100", "КПП: 9 знаков"),
    ],
)
def test_bad_numbers_are_refused_and_nothing_is_stored(school, admin, field, value, message):
    with pytest.raises(ValidationError) as caught:
        update_profile(school, actor=admin, head_full_name="Кто-то", **{field: value})
    assert message in " ".join(caught.value.messages)
    school.refresh_from_db()
    assert (getattr(school, field), school.head_full_name) == ("", "")
    assert not AuditEntry.objects.filter(action="organization.profile_updated").exists()


def test_only_admins_edit_the_profile(school, other_school):
    for person in (
        make_member(school, Role.TEACHER, "Учитель Иван Иванович"),
        make_member(other_school, Role.ADMIN, "Чужой Админ Петрович"),
    ):
        with pytest.raises(PermissionDenied):
            update_profile(school, actor=person, short_name="Взлом")
    school.refresh_from_db()
    assert school.short_name == "СОШ №1"


def test_fields_outside_the_profile_are_refused(school, admin):
    with pytest.raises(ValidationError):
        update_profile(school, actor=admin, admin_application_phone="+79130000000")


def test_profile_page(client, school, admin):
    client.force_login(admin)
    url = reverse("structure:profile", args=[school.pk])
    bad = client.post(url, {"full_name": school.full_name, "inn": "123"})
    assert bad.status_code == 200
    assert "ИНН состоит из 10" in bad.content.decode()
    ok = client.post(url, {"full_name": "МБОУ Мотыгинская СОШ №1", "site": "school.ru", **GOOD})
    assert ok.status_code == 302
    school.refresh_from_db()
    assert (school.inn, school.site) == ("2426001487", "https://school.ru")
