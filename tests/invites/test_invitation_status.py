"""The invitations' status pages and API: counts per class, joined or not, who may look."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from parta.invites.delivery import reissue_invitation, send_invitation_sms
from parta.invites.models import PersonalInvitation
from tests.factories import client_for, local, make_class
from tests.invites.roster import Roster, issue_roster


@pytest.fixture
def roster(world) -> Roster:
    roster = issue_roster(world)
    # The student joined on 12 September, at 23:30 in Krasnoyarsk (16:30 UTC).
    PersonalInvitation.objects.filter(pk=roster.invitations["student"].pk).update(
        used_at=local("2026-09-12 23:30"), used_by=world.student
    )
    return roster


def _card(html: str, title: str) -> str:
    start = html.index(title)
    return html[start : html.index("</li>", start)]


def test_overview_counts_for_the_admin(roster):
    world = roster.world
    html = client_for(world.admin).get(reverse("invites:invitations", args=[world.org.pk]))
    assert html.status_code == 200
    text = html.content.decode()
    assert "Приглашено: 4 · в Парте: 1 · ещё нет: 3" in _card(text, ">5А<")
    assert "Приглашено: 1 · в Парте: 0 · ещё нет: 1" in _card(text, ">6А<")
    assert "Приглашено: 1 · в Парте: 0 · ещё нет: 1" in _card(text, "Учителя и сотрудники")


def test_a_class_teacher_sees_her_class_only(roster):
    world = roster.world
    text = client_for(world.teacher_5a).get(reverse("invites:invitations", args=[world.org.pk]))
    body = text.content.decode()
    assert ">5А<" in body and ">6А<" not in body and "Учителя и сотрудники" not in body
    other = reverse("invites:invitations-class", args=[world.org.pk, world.class_6a.pk])
    assert client_for(world.teacher_5a).get(other).status_code == 403
    staff = reverse("invites:invitations-staff", args=[world.org.pk])
    assert client_for(world.teacher_5a).get(staff).status_code == 403


@pytest.mark.parametrize("who", ["parent", "student", "teacher", "outsider"])
def test_others_are_refused(roster, who):
    world = roster.world
    client = client_for(getattr(world, who))
    for url in (
        reverse("invites:invitations", args=[world.org.pk]),
        reverse("invites:invitations-class", args=[world.org.pk, world.class_5a.pk]),
    ):
        assert client.get(url).status_code == 403


def test_bad_ids_are_404(roster, other_school):
    world = roster.world
    client = client_for(world.admin)
    assert client.get(reverse("invites:invitations", args=[999999])).status_code == 404
    missing = reverse("invites:invitations-class", args=[world.org.pk, 999999])
    assert client.get(missing).status_code == 404
    # Another school's class, and the teachers' class: not a class page of this school.
    foreign = make_class(other_school, "7Б")
    assert (
        client.get(
            reverse("invites:invitations-class", args=[world.org.pk, foreign.pk])
        ).status_code
        == 404
    )
    assert (
        client.get(
            reverse("invites:invitations-class", args=[world.org.pk, world.staff_class.pk])
        ).status_code
        == 404
    )
    assert client.post(reverse("invites:invitation-reissue", args=[999999])).status_code == 404


def test_the_class_page_shows_each_family(roster):
    world = roster.world
    texted = timezone.now() - timedelta(hours=1)
    send_invitation_sms([roster.fresh("parent")], by=world.admin, now=texted)
    texted_local = timezone.localtime(texted, world.org.district.region.zone)
    url = reverse("invites:invitations-class", args=[world.org.pk, world.class_5a.pk])
    response = client_for(world.teacher_5a).get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Приглашено: 4 · в Парте: 1" in html
    family = _card(html, "<strong>Петров Иван Олегович</strong>")
    # Joined on the 12th in the school's zone (16:30 UTC).
    assert "ученик: в Парте с 12.09.2026" in " ".join(family.split())
    assert "Петрова Ольга Ивановна, родитель" in " ".join(family.split())
    assert f"СМС {texted_local:%d.%m.%Y %H:%M}: отправлено" in family
    assert "Петров Олег Викторович, родитель" in " ".join(family.split())
    assert "СМС не отправлялось" in family
    assert "нет телефона в списке" in _card(html, "<strong>Сидорова Мария Ивановна</strong>")
    # The slips count those not joined (3 codes); «send to all» those with a phone not
    # texted today: the father only.
    assert "Листки для печати (PDF, 3 кодов)" in html
    assert "СМС всем, кто не в Парте (1)" in html
    assert "Кузьмина" not in html and "Кузнецов" not in html
    # The phone numbers are not on the page: a class teacher does not see them.
    for person in (world.parent, roster.second_parent):
        assert person.phone not in html


def test_the_page_fits_a_phone(roster):
    """No table to run off a 390 px screen: families are cards."""
    world = roster.world
    url = reverse("invites:invitations-class", args=[world.org.pk, world.class_5a.pk])
    html = client_for(world.admin).get(url).content.decode()
    assert "<table" not in html and 'class="cards"' in html


def test_api_class_status(roster):
    world = roster.world
    url = f"/api/invites/organizations/{world.org.pk}/invitations/classes/{world.class_5a.pk}"
    body = client_for(world.teacher_5a).get(url).json()
    assert (body["invited"], body["joined"], body["not_joined"]) == (4, 1, 3)
    by_name = {row["full_name"]: row for row in body["invitations"]}
    assert by_name["Петров Иван Олегович"]["status"] == "joined"
    assert by_name["Петров Иван Олегович"]["joined_at"].startswith("2026-09-12T16:30")
    assert by_name["Сидорова Мария Ивановна"]["has_phone"] is False
    assert by_name["Петрова Ольга Ивановна"]["status"] == "invited"
    assert "phone" not in by_name["Петрова Ольга Ивановна"]
    assert client_for(world.teacher_6a).get(url).status_code == 403
    assert client_for(world.parent).get(url).status_code == 403
    bad = f"/api/invites/organizations/{world.org.pk}/invitations/classes/999999"
    assert client_for(world.admin).get(bad).status_code == 404
    slips = client_for(world.admin).get(url + "/slips")
    assert slips.status_code == 200 and slips["Content-Type"] == "application/pdf"
    assert slips["X-Parta-Slips"] == "2"


def test_api_class_sms_is_queued(roster, monkeypatch):
    world = roster.world
    queued = []
    monkeypatch.setattr(
        "parta.invites.api.send_invitations_sms", lambda ids, by_id: queued.append(ids)
    )
    answer = client_for(world.admin).post(
        f"/api/invites/organizations/{world.org.pk}/invitations/sms",
        {"class_id": world.class_5a.pk},
        content_type="application/json",
    )
    assert answer.status_code == 202 and answer.json()["queued"] == 2
    assert sorted(queued[0]) == sorted(
        roster.invitations[key].pk for key in ("parent", "second_parent")
    )


def test_a_reissued_invitation_is_one_row(roster):
    world = roster.world
    reissue_invitation(roster.fresh("parent"), by=world.admin)
    url = f"/api/invites/organizations/{world.org.pk}/invitations/classes/{world.class_5a.pk}"
    body = client_for(world.admin).get(url).json()
    assert body["invited"] == 4
    names = [row["full_name"] for row in body["invitations"]]
    assert names.count("Петрова Ольга Ивановна") == 1
    [row] = [row for row in body["invitations"] if row["full_name"] == "Петрова Ольга Ивановна"]
    assert row["status"] == "invited" and row["id"] != roster.invitations["parent"].pk
