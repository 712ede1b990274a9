"""An education authority's letters to the heads of its schools.

The letter says every head is a member of the authority's organization with the teacher
role; a letter goes to the authority's «Письма руководителям» channel, whose members are
kept equal to those heads, with the letter's files attached.
"""

from collections.abc import Sequence
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from parta.accounts.models import Person, Role
from parta.accounts.selectors import role_grants_held_at, roles_at
from parta.messaging.models import Conversation, Message
from parta.messaging.selectors import membership
from parta.messaging.services import (
    add_members,
    create_conversation,
    send_message,
    upload_attachment,
)
from parta.structure.models import Organization

LETTERS_CHANNEL_TITLE = "Письма руководителям"
MAX_SUBJECT_LENGTH = 200


def heads_of(authority: Organization, when: datetime) -> list[Person]:
    """The authority's teachers at `when`: the heads of its schools, as the letter has it."""
    ids = role_grants_held_at([authority.pk], [Role.TEACHER], when).values("person_id")
    return list(Person.objects.filter(pk__in=ids, is_active=True))


def letters_channel(authority: Organization) -> Conversation | None:
    return Conversation.objects.filter(
        organization=authority,
        kind=Conversation.Kind.CHANNEL,
        purpose=Conversation.Purpose.INFO,
        title=LETTERS_CHANNEL_TITLE,
        deleted_at__isnull=True,
    ).first()


def may_write_letters(person: Person, authority: Organization, when: datetime) -> bool:
    return authority.kind == Organization.Kind.AUTHORITY and Role.ADMIN in roles_at(
        person, authority, when
    )


@transaction.atomic
def post_letter_to_heads(
    author: Person,
    authority: Organization,
    *,
    subject: str,
    text: str,
    files: Sequence[UploadedFile] = (),
    at: datetime | None = None,
) -> Message:
    """Post one letter to every current head; a refused file stores nothing at all."""
    moment = at or timezone.now()
    if authority.kind != Organization.Kind.AUTHORITY:
        raise ValidationError(_("Письма руководителям пишет орган управления образованием."))
    if not may_write_letters(author, authority, moment):
        raise PermissionDenied(_("Письма руководителям пишут администраторы управления."))
    subject = subject.strip()
    if not subject:
        raise ValidationError(_("Укажите тему письма."))
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise ValidationError(
            _("Тема длиннее %(n)s знаков; сократите её.") % {"n": MAX_SUBJECT_LENGTH}
        )
    heads = heads_of(authority, moment)
    if not heads:
        raise ValidationError(_("В управлении нет ни одного руководителя с ролью «учитель»."))
    channel = letters_channel(authority) or create_conversation(
        author,
        authority,
        title=LETTERS_CHANNEL_TITLE,
        kind=Conversation.Kind.CHANNEL,
        purpose=Conversation.Purpose.INFO,
        at=moment,
    )
    if membership(author, channel) is None:
        add_members(channel, [author], by=author, at=moment)
    add_members(channel, heads, by=author, at=moment)
    attachments = [upload_attachment(author, channel, upload, at=moment) for upload in files]
    return send_message(
        author, channel, f"{subject}\n\n{text.strip()}".strip(), attachments=attachments, at=moment
    )
