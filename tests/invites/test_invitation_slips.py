"""The slips PDF: one slip per family, QR codes that open the right invitation, the codes
printed beside them, and invitations whose code was lost left out and told."""

import re
from urllib.parse import urlsplit

import pypdfium2
import pytest
import zxingcpp
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from parta.invites.invitation_status import with_related
from parta.invites.invitations import invitation_by_code, seal, shown_code
from parta.invites.models import PersonalInvitation
from parta.invites.slips import render_slips
from tests.factories import client_for
from tests.invites.roster import Roster, issue_roster

BASE = "https://parta.example.ru"
CODE = re.compile(r"\b[A-Z0-9]{5}-[A-Z0-9]{5}\b")
MARK = "Приглашение в Парту"


@pytest.fixture
def roster(world) -> Roster:
    return issue_roster(world)


def _read(pdf: bytes) -> list[tuple[str, list[str]]]:
    """Each page's text and the texts of the QR codes on it (rendered at 200 dpi)."""
    pages = []
    document = pypdfium2.PdfDocument(pdf)
    for page in document:
        text = page.get_textpage().get_text_range()
        image = page.render(scale=200 / 72).to_pil()
        pages.append((text, [found.text for found in zxingcpp.read_barcodes(image)]))
    return pages


def _slips(pages: list[tuple[str, list[str]]]) -> list[str]:
    """The text of each slip: a slip starts with its mark, its heading on the next line."""
    return [chunk for text, _qr in pages for chunk in text.split(MARK)[1:]]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _headings(slips: list[str], school: str = "СОШ №1") -> list[str]:
    """Each slip's heading: after the mark and the school, up to its first name (a narrow
    slip wraps it)."""
    found = []
    for slip in slips:
        text = _flat(slip).removeprefix(f"— {school} ")
        family = "," in text[:60]  # «Фамилия Имя Отчество, 5А»; staff: the name alone
        found.append(text[: text.index(",") + 4] if family else " ".join(text.split()[:3]))
    return found


def _all(roster: Roster) -> list[PersonalInvitation]:
    pks = [invitation.pk for invitation in roster.invitations.values()]
    return list(with_related(PersonalInvitation.objects.filter(pk__in=pks)).order_by("pk"))


def test_one_slip_per_family_and_each_qr_opens_its_invitation(roster):
    rendered = render_slips(_all(roster), base_url=BASE + "/")
    assert rendered.skipped == []
    pages = _read(rendered.pdf)
    slips = _slips(pages)
    assert _headings(slips) == [
        "Петров Иван Олегович, 5А",
        "Сидорова Мария Ивановна, 5А",
        "Кузьмина Вера Андреевна, 6А",
        "Кузнецов Олег Петрович",
    ]
    assert rendered.slips == 4
    codes = roster.codes()
    # The family's slip carries the student's code and both parents', with their names.
    family = slips[0]
    assert CODE.findall(family) == [
        shown_code(codes[key]) for key in ("student", "parent", "second_parent")
    ]
    for name in ("Петрова Ольга Ивановна", "Петров Олег Викторович"):
        assert name in family.replace("\r\n", " ").replace("\n", " ")
    assert family.count("родитель") == 2 and "ученик" in family
    assert CODE.findall(slips[3]) == [shown_code(codes["teacher"])]
    assert "учитель" in slips[3]

    decoded = [url for _text, urls in pages for url in urls]
    assert len(decoded) == 6
    opened = {}
    for url in decoded:
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", "parta.example.ru", "/p/")
        opened[invitation_by_code(parts.fragment).pk] = parts.fragment
    assert opened == {invitation.pk: codes[key] for key, invitation in roster.invitations.items()}
    # The QR codes of a page are the codes printed on it.
    for text, urls in pages:
        assert sorted(CODE.findall(text)) == sorted(
            shown_code(urlsplit(url).fragment) for url in urls
        )


def test_the_slip_tells_how_to_join_and_until_when(roster):
    text = _read(render_slips(_all(roster), base_url=BASE).pdf)[0][0]
    flat = " ".join(text.split())
    assert "Откройте камеру телефона и наведите на код" in flat
    assert "parta.example.ru/p/ и введите код" in flat
    # Valid until 1 September 00:00 in Krasnoyarsk: the slip names the day before.
    expires = timezone.localtime(
        roster.invitations["student"].expires_at, roster.world.org.district.region.zone
    )
    assert (expires.month, expires.day, expires.hour) == (9, 1, 0)
    assert f"Действует до 31.08.{expires.year} включительно" in flat


def test_a_code_sealed_under_an_old_key_is_skipped_and_told(roster):
    lost = roster.invitations["parent"]
    with override_settings(SECRET_KEY="an-older-key"):
        PersonalInvitation.objects.filter(pk=lost.pk).update(code_sealed=seal("ACDEFHJKMN"))
    rendered = render_slips(_all(roster), base_url=BASE)
    assert [invitation.pk for invitation in rendered.skipped] == [lost.pk]
    pages = _read(rendered.pdf)
    assert "Петрова Ольга Ивановна" not in " ".join(" ".join(text.split()) for text, _ in pages)
    assert len([url for _text, urls in pages for url in urls]) == 5
    assert rendered.slips == 4


def test_the_class_page_pdf_has_only_those_not_joined(roster):
    world = roster.world
    PersonalInvitation.objects.filter(pk=roster.invitations["student"].pk).update(
        used_at=timezone.now(), used_by=world.student
    )
    url = reverse("invites:invitations-class-slips", args=[world.org.pk, world.class_5a.pk])
    response = client_for(world.teacher_5a).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    assert "attachment" in response["Content-Disposition"]
    pages = _read(response.content)
    slips = _slips(pages)
    # The parents' codes are still on a slip headed with their child (in the page's order,
    # by name); the student's is gone.
    assert _headings(slips) == [
        "Петров Иван Олегович, 5А",
        "Сидорова Мария Ивановна, 5А",
    ]
    codes = roster.codes()
    assert CODE.findall(slips[0]) == [
        shown_code(codes["second_parent"]),
        shown_code(codes["parent"]),
    ]
    decoded = {urlsplit(url).fragment for _text, urls in pages for url in urls}
    assert decoded == {codes["parent"], codes["second_parent"], codes["classmate"]}


def test_the_staff_pdf_is_the_admins(roster):
    world = roster.world
    url = reverse("invites:invitations-staff-slips", args=[world.org.pk])
    assert client_for(world.teacher_5a).get(url).status_code == 403
    response = client_for(world.admin).get(url)
    assert response.status_code == 200
    slips = _slips(_read(response.content))
    assert _headings(slips) == ["Кузнецов Олег Петрович"]
