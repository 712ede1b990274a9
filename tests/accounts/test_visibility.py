"""Nobody sees another organization's people; operators see every organization."""

import pytest

from parta.accounts.models import Role
from parta.accounts.services import grant_role, revoke_role
from tests.factories import make_member, make_person


def people_url(organization) -> str:
    return f"/api/accounts/organizations/{organization.pk}/people"


@pytest.fixture
def teacher(school):
    return make_member(school, Role.TEACHER, "Смирнова Елена Викторовна")


@pytest.fixture
def stranger_teacher(other_school):
    return make_member(other_school, Role.TEACHER, "Орлов Игорь Петрович")


def test_member_sees_the_people_of_their_organization_with_roles(
    client, school, teacher, stranger_teacher
):
    student = make_member(school, Role.STUDENT, "Алексеев Дмитрий Олегович")
    grant_role(teacher, school, Role.ADMIN)
    client.force_login(teacher)
    response = client.get(people_url(school))
    assert response.status_code == 200
    assert response.json() == [
        {"id": student.pk, "full_name": "Алексеев Дмитрий Олегович", "roles": ["student"]},
        {"id": teacher.pk, "full_name": "Смирнова Елена Викторовна", "roles": ["admin", "teacher"]},
    ]


def test_nobody_sees_another_organizations_people(client, school, other_school, teacher):
    make_member(other_school, Role.TEACHER, "Орлов Игорь Петрович")
    client.force_login(teacher)
    assert client.get(people_url(other_school)).status_code == 404


def test_former_member_no_longer_sees_the_people(client, school, teacher):
    revoke_role(teacher, school, Role.TEACHER)
    client.force_login(teacher)
    assert client.get(people_url(school)).status_code == 404


def test_person_without_roles_sees_nobody(client, school, teacher):
    client.force_login(make_person("Никто Без Ролей"))
    assert client.get(people_url(school)).status_code == 404


def test_anonymous_is_refused(client, school, teacher):
    assert client.get(people_url(school)).status_code == 401


def test_unknown_organization_is_404(client, school, teacher):
    client.force_login(teacher)
    assert client.get("/api/accounts/organizations/999999/people").status_code == 404


def test_operator_sees_any_organization(client, school, other_school, stranger_teacher):
    operator = make_person("Оператор Службы Поддержки")
    operator.is_staff = True
    operator.save()
    client.force_login(operator)
    response = client.get(people_url(other_school))
    assert response.status_code == 200
    assert [row["id"] for row in response.json()] == [stranger_teacher.pk]
