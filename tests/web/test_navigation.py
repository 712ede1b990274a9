"""The menu, the phone's tab bar and the chat list show each role only what it may use."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import reverse

from parta.accounts.services import grant_role
from parta.invites.models import JoinRequest
from parta.messaging.models import Message
from parta.messaging.selectors import UnreadTotal
from parta.messaging.services import add_members, create_conversation, send_message
from parta.structure.models import Organization
from parta.web.context_processors import navigation
from tests.factories import local, make_class, make_member, make_org, make_person

pytestmark = pytest.mark.django_db

MANAGE = reverse("invites:manage")
MY_REQUESTS = reverse("invites:my-requests")
INDICATORS = reverse("monitoring:home")
NEW_CHAT = reverse("messaging:new")
BACK_OFFICE = reverse("admin:index")


def people(school):
    class_teacher = make_member(school, "teacher", "Петрова Ольга Ивановна")
    make_class(school, "5А", class_teacher=class_teacher)
    operator = make_person("Оператор Сергей Сергеевич")
    operator.is_staff = True
    operator.save(update_fields=["is_staff"])
    authority = make_org(school.district, "Управление образования", Organization.Kind.AUTHORITY)
    return {
        "parent": make_member(school, "parent", "Иванова Мария Сергеевна"),
        "student": make_member(school, "student", "Иванов Пётр Алексеевич"),
        "teacher": make_member(school, "teacher", "Смирнова Елена Викторовна"),
        "class teacher": class_teacher,
        "school admin": make_member(school, "admin", "Кузнецова Анна Павловна"),
        "authority official": make_member(authority, "staff", "Орлов Игорь Олегович"),
        "operator": operator,
    }


# role: (Управление, Показатели, «Новый чат или канал», Бэк-офис)
EXPECTED = {
    "parent": (False, False, False, False),
    "student": (False, False, False, False),
    "teacher": (False, True, True, False),
    "class teacher": (True, True, True, False),
    "school admin": (True, True, True, False),
    "authority official": (False, True, True, False),
    "operator": (False, True, False, True),
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_sees_only_the_items_it_may_use(client, school, role):
    person = people(school)[role]
    client.force_login(person)
    manage, indicators, new_chat, back_office = EXPECTED[role]
    for url in (reverse("web:home"), reverse("messaging:list")):
        page = client.get(url).content.decode()
        assert (f'href="{MANAGE}"' in page) is manage, url
        assert (f'href="{INDICATORS}"' in page) is indicators, url
        assert (f'href="{BACK_OFFICE}"' in page) is back_office, url
        # Nobody in this world has a join request of their own.
        assert f'href="{MY_REQUESTS}"' not in page, url
        assert f'href="{reverse("messaging:list")}"' in page
        assert f'href="{reverse("calls:mine")}"' in page
    chat_list = client.get(reverse("messaging:list")).content.decode()
    assert (f'href="{NEW_CHAT}"' in chat_list) is new_chat


def test_a_person_with_a_request_of_their_own_sees_my_requests(client, school):
    parent = make_person("Иванова Мария Сергеевна")
    JoinRequest.objects.create(
        person=parent, organization=school, role="parent", created_at=local("2026-11-16 08:00")
    )
    client.force_login(parent)
    page = client.get(reverse("web:home")).content.decode()
    assert f'href="{MY_REQUESTS}"' in page
    assert "Мои заявки" in page


def test_someone_with_no_role_can_still_ask_to_join(client, school):
    client.force_login(make_person())
    page = client.get(reverse("web:my-organizations")).content.decode()
    assert f'href="{reverse("invites:request-start")}"' in page
    assert f'href="{MANAGE}"' not in page


def test_the_tab_bar_marks_the_current_section(client, school):
    client.force_login(make_member(school, "admin"))
    page = client.get(reverse("messaging:list")).content.decode()
    tab_bar = page[page.index('class="tab-bar"') :]
    assert f'<a href="{reverse("messaging:list")}" aria-current="page">' in tab_bar
    assert f'<a href="{MANAGE}">' in tab_bar
    assert 'aria-label="Разделы"' in tab_bar
    assert 'class="inline lang-switch" aria-label="Язык"' in page


@pytest.mark.parametrize("schools", [1, 4])
def test_the_menu_reads_the_same_few_queries_however_many_schools(
    school, django_assert_num_queries, schools
):
    # A teacher leading a class in each school: every rule has something to read.
    teacher = make_member(school, "teacher")
    make_class(school, "5А", class_teacher=teacher)
    for _ in range(schools - 1):
        other = make_org(school.district)
        grant_role(teacher, other, "teacher", valid_from=local("2026-09-01 00:00"))
        make_class(other, "6Б", class_teacher=teacher)
    request = RequestFactory().get("/")
    request.user = teacher
    # A chat in each school, with a message from someone else waiting in it.
    for organization in [
        school,
        *Organization.objects.exclude(pk=school.pk).filter(kind=school.kind),
    ]:
        chat = create_conversation(teacher, organization, title="Чат", members=[])
        colleague = make_member(organization, "teacher")
        add_members(chat, [colleague], by=teacher)
        send_message(colleague, chat, "Добрый день")
    newest = Message.objects.order_by("-pk").values_list("pk", flat=True)[0]
    # The memberships, the classes led, one's own requests, the unread total.
    with django_assert_num_queries(4):
        shown = navigation(request)
    assert shown == {
        "sees_indicators": True,
        "manages": True,
        "has_own_requests": False,
        "creates_chats": True,
        "unread": UnreadTotal(total=schools, newest=newest),
    }


def test_an_anonymous_visitor_costs_no_query(django_assert_num_queries, db):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        assert not any(navigation(request).values())


@pytest.mark.parametrize("role", ["parent", "student"])
def test_what_the_menu_hides_refuses_with_the_sites_403_page(client, school, role):
    client.force_login(make_member(school, role))
    for url in (MANAGE, NEW_CHAT):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "web/403.html" in [t.name for t in response.templates], url


def test_the_new_chat_form_offers_only_the_schools_where_one_makes_group_chats(client, school):
    teacher = make_member(school, "teacher")
    own_childs_school = make_org(school.district, "МБОУ СОШ №99")
    grant_role(teacher, own_childs_school, "parent", valid_from=local("2026-09-01 00:00"))
    client.force_login(teacher)
    form = client.get(NEW_CHAT).context["form"]
    assert list(form.fields["organization"].queryset) == [school]
