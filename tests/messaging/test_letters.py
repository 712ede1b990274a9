"""An authority writes one letter with attachments to all the heads of its schools."""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from parta.accounts.services import grant_role
from parta.messaging.letters import (
    LETTERS_CHANNEL_TITLE,
    letters_channel,
    post_letter_to_heads,
)
from parta.messaging.models import Attachment, Conversation, Message
from parta.structure.models import Organization
from tests.factories import make_member, make_org

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def authority(district):
    return make_org(
        district,
        "МКУ «Управление образования Мотыгинского района»",
        kind=Organization.Kind.AUTHORITY,
    )


@pytest.fixture
def chief(authority):
    return make_member(authority, "admin", "Смолина Наталья Николаевна")


@pytest.fixture
def heads(authority, school, other_school):
    people = []
    for org, name in ((school, "Иванова Анна Петровна"), (other_school, "Орлов Пётр Ильич")):
        head = make_member(org, "admin", name)
        grant_role(head, authority, "teacher")
        people.append(head)
    return people


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, "PNG")
    return out.getvalue()


def test_letter_reaches_every_head_with_its_files(authority, chief, heads):
    message = post_letter_to_heads(
        chief,
        authority,
        subject="О вебинаре",
        text="Просим подключиться в четверг.",
        files=[
            SimpleUploadedFile("письмо.pdf", PDF),
            SimpleUploadedFile("схема.png", png()),
        ],
    )
    channel = letters_channel(authority)
    assert channel is not None and channel.title == LETTERS_CHANNEL_TITLE
    assert channel.kind == Conversation.Kind.CHANNEL
    members = set(channel.members.filter(left_at__isnull=True).values_list("person_id", flat=True))
    assert members == {chief.pk, *(h.pk for h in heads)}
    assert message.text == "О вебинаре\n\nПросим подключиться в четверг."
    assert sorted(message.attachments.values_list("kind", flat=True)) == ["document", "image"]
    # A second letter uses the same channel.
    post_letter_to_heads(chief, authority, subject="Ещё", text="…")
    assert Conversation.objects.filter(title=LETTERS_CHANNEL_TITLE).count() == 1


def test_only_the_authoritys_admins_write_letters(authority, heads, school):
    with pytest.raises(PermissionDenied):
        post_letter_to_heads(heads[0], authority, subject="Тема", text="…")
    school_admin = make_member(school, "admin", "Админ Школы")
    with pytest.raises(ValidationError, match="орган управления"):
        post_letter_to_heads(school_admin, school, subject="Тема", text="…")
    assert not Message.objects.filter(is_service=False).exists()


def test_a_bad_file_or_subject_stores_nothing(authority, chief, heads):
    with pytest.raises(ValidationError):
        post_letter_to_heads(
            chief,
            authority,
            subject="О вебинаре",
            text="…",
            files=[SimpleUploadedFile("письмо.pdf", b"MZ\x90\x00 not a pdf")],
        )
    with pytest.raises(ValidationError, match="тему"):
        post_letter_to_heads(chief, authority, subject="  ", text="…")
    assert not Message.objects.exists()  # not even the «joined» notices
    assert not Attachment.objects.exists()
    assert letters_channel(authority) is None


def test_letter_page(client, authority, chief, heads):
    client.force_login(chief)
    page = client.get(f"/messages/letters/{authority.pk}/")
    assert page.status_code == 200
    assert "получателей: 2" in page.content.decode()
    response = client.post(
        f"/messages/letters/{authority.pk}/",
        {
            "subject": "Инструкция",
            "text": "См. вложение",
            "attachments": [SimpleUploadedFile("инструкция.pdf", PDF)],
        },
    )
    assert response.status_code == 302
    assert Message.objects.get(is_service=False).attachments.count() == 1
    client.force_login(heads[0])
    assert client.get(f"/messages/letters/{authority.pk}/").status_code == 404
