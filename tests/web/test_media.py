"""/media/ serves nothing, in DEBUG too: a file sent in a chat is read only through
messaging's view, which checks that the reader is in the conversation."""

import importlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import clear_url_caches, reverse

import parta.urls
from parta.messaging.models import Conversation
from parta.messaging.services import create_conversation, send_message, upload_attachment
from tests.factories import make_member
from tests.messaging.files import PDF

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug_urls(settings, tmp_path):
    """The URLconf as `DEBUG=1` builds it (it is read once, at import)."""
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path
    importlib.reload(parta.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(parta.urls)
    clear_url_caches()


def test_an_attachment_is_never_served_from_media_only_through_the_checked_view(
    client, school, debug_urls
):
    teacher = make_member(school, "teacher", "Смирнова Елена Викторовна")
    outsider = make_member(school, "teacher", "Кузнецов Денис Андреевич")
    chat = create_conversation(
        teacher, school, title="Педсовет", purpose=Conversation.Purpose.STAFF
    )
    attachment = upload_attachment(teacher, chat, SimpleUploadedFile("приказ.pdf", PDF))
    send_message(teacher, chat, "Приказ", attachments=[attachment])
    assert attachment.file.storage.exists(attachment.file.name)
    by_media = f"/media/{attachment.file.name}"

    client.force_login(outsider)
    response = client.get(by_media)
    assert response.status_code == 404
    assert PDF not in response.content
    assert client.get(reverse("messaging:attachment", args=[attachment.pk])).status_code == 404

    # Not even a member reads it by its storage path; the checked view gives it to them.
    client.force_login(teacher)
    assert client.get(by_media).status_code == 404
    checked = client.get(reverse("messaging:attachment", args=[attachment.pk]))
    assert checked.status_code == 200
    assert b"".join(checked.streaming_content) == PDF
