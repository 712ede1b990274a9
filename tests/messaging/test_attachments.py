"""Attachments: size limit, type read from the bytes, previews; a refusal stores nothing."""

import os
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from parta.jobs import runner
from parta.messaging import jobs
from parta.messaging.attachments import AttachmentRefused
from parta.messaging.models import Attachment, Conversation, Message
from parta.messaging.selectors import message_data
from parta.messaging.services import create_conversation, send_message, upload_attachment
from tests.factories import local
from tests.messaging.files import PDF, docx_bytes, image_bytes

pytestmark = pytest.mark.django_db
AT = local("2026-11-16 09:00")


@pytest.fixture
def chat(s):
    return create_conversation(
        s.teacher,
        s.org,
        title="5А",
        purpose=Conversation.Purpose.CLASS,
        school_class=s.five_a,
        at=AT,
    )


def upload(person, chat, content: bytes, name: str):
    return upload_attachment(person, chat, SimpleUploadedFile(name, content), at=AT)


def stored_files(root) -> list[str]:
    return [name for _dir, _sub, names in os.walk(root) for name in names]


def test_an_image_gets_a_small_preview_and_goes_out_with_a_message(s, chat, media):
    attachment = upload(s.teacher, chat, image_bytes("PNG", (1600, 1200)), "доска.png")
    assert (attachment.kind, attachment.content_type) == ("image", "image/png")
    assert (attachment.width, attachment.height) == (1600, 1200)
    with Image.open(attachment.preview.path) as preview:
        assert preview.format == "JPEG"
        assert max(preview.size) == 320
    assert attachment.preview.size < attachment.size
    message = send_message(s.teacher, chat, "", attachments=[attachment], at=AT)
    (shown,) = message_data(message)["attachments"]
    assert shown["name"] == "доска.png"
    assert shown["preview_url"].endswith(f"/file/{attachment.pk}/preview/")
    # The stored name comes from the checked type, never from the sender.
    assert attachment.file.name.endswith(".png") and "доска" not in attachment.file.name


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (image_bytes("JPEG"), "photo.jpg", "image/jpeg"),
        (image_bytes("GIF"), "anim.gif", "image/gif"),
        (image_bytes("WEBP"), "pic.webp", "image/webp"),
        (PDF, "расписание.pdf", "application/pdf"),
        (
            docx_bytes(),
            "план.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        # A wrong name does not matter: the bytes say PDF.
        (PDF, "scan.jpg", "application/pdf"),
    ],
)
def test_allowed_types_are_read_from_the_content(s, chat, content, name, content_type):
    attachment = upload(s.teacher, chat, content, name)
    assert attachment.content_type == content_type
    assert bool(attachment.preview) == content_type.startswith("image/")


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (b"MZ\x90\x00" + b"\x00" * 100, "homework.pdf", "type_not_allowed"),  # a program
        (b"<script>alert(1)</script>", "picture.png", "type_not_allowed"),
        (docx_bytes(macros=True), "letter.docx", "type_not_allowed"),
        (b"\x89PNG\r\n\x1a\n" + b"broken" * 10, "broken.png", "broken_image"),
        (b"", "empty.pdf", "empty"),
    ],
)
def test_wrong_types_are_refused_with_a_clear_error_and_nothing_stored(
    s, chat, media, content, name, code
):
    with pytest.raises(AttachmentRefused) as refused:
        upload(s.teacher, chat, content, name)
    assert refused.value.code == code
    assert refused.value.messages[0]
    assert not Attachment.objects.exists()
    assert stored_files(media) == []


def test_the_size_limit_comes_from_settings(s, chat, media, settings):
    settings.PARTA_ATTACHMENT_MAX_BYTES = len(PDF) - 1
    with pytest.raises(AttachmentRefused, match="больше") as refused:
        upload(s.teacher, chat, PDF, "big.pdf")
    assert refused.value.code == "too_large"
    assert not Attachment.objects.exists()
    assert stored_files(media) == []
    settings.PARTA_ATTACHMENT_MAX_BYTES = len(PDF)
    assert upload(s.teacher, chat, PDF, "fits.pdf").size == len(PDF)


def test_only_someone_who_may_write_uploads_and_only_their_own_file_is_sent(s, chat, media):
    with pytest.raises(PermissionDenied):
        upload(s.admin, chat, PDF, "x.pdf")  # the admin is not in this chat
    mine = upload(s.teacher, chat, PDF, "mine.pdf")
    with pytest.raises(ValidationError, match="не для этого сообщения"):
        send_message(s.students[0], chat, "чужой файл", attachments=[mine], at=AT)
    assert not Message.objects.exists()


def test_uploads_never_sent_are_deleted_with_their_files_after_a_day(
    s, chat, media, django_capture_on_commit_callbacks
):
    sent = upload(s.teacher, chat, PDF, "sent.pdf")
    send_message(s.teacher, chat, "план", attachments=[sent], at=AT)
    forgotten = upload(s.teacher, chat, image_bytes("PNG", (800, 600)), "forgotten.png")
    recent = upload_attachment(
        s.teacher, chat, SimpleUploadedFile("recent.pdf", PDF), at=timezone.now()
    )
    forgotten_files = [forgotten.file.path, forgotten.preview.path]
    assert all(os.path.exists(path) for path in forgotten_files)

    with django_capture_on_commit_callbacks(execute=True):
        jobs.discard_unsent.call_local()

    assert set(Attachment.objects.values_list("pk", flat=True)) == {sent.pk, recent.pk}
    assert not any(os.path.exists(path) for path in forgotten_files)
    assert os.path.exists(sent.file.path) and os.path.exists(recent.file.path)
    # Daily at 03:27 UTC, with the other housekeeping of the job runner.
    daily = [datetime(2026, 11, 23, 0, 0) + timedelta(minutes=n) for n in range(24 * 60)]
    due = [m for m in daily if "messaging.discard_unsent_uploads" in names_due(m)]
    assert due == [datetime(2026, 11, 23, 3, 27)]


def names_due(moment: datetime) -> set[str]:
    return {task.name for task in runner.HUEY.read_periodic(moment)}
