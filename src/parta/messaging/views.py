"""Pages: the conversation list, a conversation with its composer, a new chat, files.

Each page works without JavaScript (forms post here); chat.js makes the same actions
through the JSON API and renders events as they arrive.
"""

import uuid
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from parta.accounts.models import Person
from parta.accounts.selectors import current_memberships, directly_reachable
from parta.messaging import letters, selectors, services
from parta.messaging.models import Attachment, Conversation, ConversationMember, Message
from parta.realtime.selectors import last_seq
from parta.structure.models import Organization, SchoolClass
from parta.web.auth import signed_in
from parta.web.templatetags.moments import moment_words

PAGE_SIZE = 50


def _member_conversation(person: Person, pk: int) -> Conversation:
    conversation = get_object_or_404(
        Conversation.objects.select_related("organization__district__region"),
        pk=pk,
        deleted_at__isnull=True,
    )
    if not selectors.may_read(person, conversation, timezone.now()):
        raise Http404
    return conversation


def _refusal_text(refused: ValidationError | PermissionDenied) -> str:
    if isinstance(refused, ValidationError):
        return " ".join(refused.messages)
    return str(refused)


@login_required
def conversation_list(request: HttpRequest) -> HttpResponse:
    person = signed_in(request)
    organizations = list(current_memberships(person, timezone.now()))
    mine = ConversationMember.objects.filter(
        conversation=OuterRef("pk"), person=person, left_at__isnull=True
    )
    now = timezone.now()
    channels = [
        channel
        for channel in Conversation.objects.filter(
            organization__in=organizations,
            kind=Conversation.Kind.CHANNEL,
            deleted_at__isnull=True,
        )
        .exclude(Exists(mine))
        .select_related("organization")
        if selectors.may_join(person, channel, now)
    ]
    return render(
        request,
        "messaging/list.html",
        {
            "rows": selectors.chat_list(person),
            "channels_to_join": channels,
            # list.js draws live messages into the rows with chat.js's words and numbers.
            "chat_strings": _chat_strings(),
            "events_after": last_seq(person),
            "max_pinned": services.MAX_PINNED_CHATS,
        },
    )


@login_required
@require_POST
def pin_chat(request: HttpRequest, pk: int) -> HttpResponse:
    """Pin a chat to the top of one's own list (pinned=1) or unpin it, from the list."""
    person = signed_in(request)
    conversation = _member_conversation(person, pk)
    try:
        services.pin_conversation(person, conversation, request.POST.get("pinned") == "1")
    except (ValidationError, PermissionDenied) as refused:
        flash.error(request, _refusal_text(refused))
    return redirect("messaging:list")


@login_required
@require_POST
def join_channel(request: HttpRequest, pk: int) -> HttpResponse:
    person = signed_in(request)
    channel = get_object_or_404(Conversation, pk=pk, deleted_at__isnull=True)
    try:
        services.join_channel(person, channel)
    except (ValidationError, PermissionDenied) as refused:
        flash.error(request, _refusal_text(refused))
        return redirect("messaging:list")
    return redirect("messaging:conversation", pk=channel.pk)


@login_required
def conversation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = signed_in(request)
    conversation = _member_conversation(person, pk)
    if request.method == "POST":
        return _send_from_form(request, person, conversation)
    before = request.GET.get("before")
    page = selectors.messages_in(
        conversation, before=int(before) if before and before.isdigit() else None, limit=PAGE_SIZE
    )
    now = timezone.now()
    member = selectors.membership(person, conversation)
    # The «Новые сообщения» divider goes above the first message others wrote since the last visit.
    read_up_to = member.read_up_to if member is not None else 0
    first_unread = next(
        (m.pk for m in page if m.pk > read_up_to and m.author_id != person.pk), None
    )
    if page and not before:
        services.mark_read(person, conversation, page[-1].pk)
    members = list(
        ConversationMember.objects.filter(conversation=conversation, left_at__isnull=True)
        .select_related("person")
        .order_by("person__surname", "person__name")
    )
    direct = conversation.purpose == Conversation.Purpose.DIRECT
    # «Написать лично» only beside those the person may write to in private.
    reachable = (
        set()
        if direct
        else directly_reachable(
            person, conversation.organization, [m.person_id for m in members], now
        )
    )
    return render(
        request,
        "messaging/conversation.html",
        {
            "conversation": conversation,
            "page": page,
            "older": page[0].pk if len(page) == PAGE_SIZE else None,
            "first_unread": first_unread,
            "pinned": selectors.pinned_in(conversation),
            "members": members,
            "me": member,
            "may_post": selectors.may_post(person, conversation, now),
            "may_moderate": selectors.may_moderate(person, conversation, now),
            "idempotency_key": uuid.uuid4().hex,
            "direct": direct,
            "reachable": reachable,
            "chat_strings": _chat_strings(),
            "prototypes": _prototypes(person, now),
            # Live events resume from the last one that existed when this page was drawn.
            "events_after": last_seq(person),
        },
    )


def _prototypes(person: Person, now: datetime) -> dict[str, Message | Attachment]:
    """Unsaved, blank messages and files that _message.html draws into the page's <template>
    with this person's buttons; chat.js fills clones of them for live messages."""
    nobody = Person()
    return {
        "mine": Message(author=person, text="", written_at=now),
        "theirs": Message(author=nobody, text="", written_at=now),
        "deleted": Message(author=nobody, text="", written_at=now, deleted_at=now),
        "service": Message(author=nobody, text="", written_at=now, is_service=True),
        "quote": Message(author=nobody, text=""),
        "image": Attachment(original_name="", size=0, preview="preview"),
        "file": Attachment(original_name="", size=0),
    }


def _chat_strings() -> dict[str, Any]:
    """The words chat.js shows, in the page's language."""
    return {
        "edited": _("изменено"),
        "pinned": _("закреплено"),
        "deleted": _("Сообщение удалено"),
        "reply_deleted": _("сообщение удалено"),
        "joined": _("присоединяется к беседе"),
        "left": _("покидает беседу"),
        "call_started": _("начинает звонок"),
        "broadcast_started": _("начинает трансляцию"),
        "reply": _("Ответить"),
        "replying": _("Ответ:"),
        "edit": _("Изменить"),
        "delete": _("Удалить"),
        "confirm_delete": _("Удалить сообщение?"),
        "pin": _("Закрепить"),
        "unpin": _("Открепить"),
        "sending": _("Отправляется…"),
        "retrying": _("Нет связи, пробуем ещё раз…"),
        "removed": _("Вы больше не участник этой беседы."),
        "copied": _("Скопировано"),
        "save": _("Сохранить"),
        "cancel": _("Отмена"),
        "attachment": _("Вложение"),
        "moments": moment_words(),
        # Django's own words for filesizeformat, so a live file's size reads as the page's.
        "size_units": {"KB": _("%s KB"), "MB": _("%s MB"), "GB": _("%s GB")},
        "size_bytes": {
            form: ngettext("%(size)d byte", "%(size)d bytes", count)
            for form, count in (("one", 1), ("few", 2), ("many", 5), ("other", 5))
        },
    }


def _send_from_form(
    request: HttpRequest, person: Person, conversation: Conversation
) -> HttpResponse:
    """The composer without JavaScript: same service, same idempotency key on a re-post."""
    reply_to = None
    reply_id = request.POST.get("reply_to", "")
    if reply_id.isdigit():
        reply_to = Message.objects.filter(pk=int(reply_id), conversation=conversation).first()
    try:
        attachments = [
            services.upload_attachment(person, conversation, upload)
            for upload in request.FILES.getlist("file")
        ]
        services.send_message(
            person,
            conversation,
            request.POST.get("text", ""),
            idempotency_key=request.POST.get("idempotency_key") or None,
            reply_to=reply_to,
            attachments=attachments,
        )
    except (ValidationError, PermissionDenied) as refused:
        flash.error(request, _refusal_text(refused))
    return redirect("messaging:conversation", pk=conversation.pk)


@login_required
@require_POST
def message_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete, pin or unpin from the page (edit lives in chat.js and the API)."""
    person = signed_in(request)
    message = get_object_or_404(Message.objects.select_related("conversation"), pk=pk)
    conversation = _member_conversation(person, message.conversation_id)
    action = request.POST.get("action")
    try:
        if action == "delete":
            services.delete_message(message, by=person)
        elif action in ("pin", "unpin"):
            services.pin_message(message, action == "pin", by=person)
        else:
            raise ValidationError(_("Неизвестное действие."))
    except (ValidationError, PermissionDenied) as refused:
        flash.error(request, _refusal_text(refused))
    return redirect("messaging:conversation", pk=conversation.pk)


@login_required
@require_POST
def direct_chat(request: HttpRequest, pk: int) -> HttpResponse:
    """Write to a fellow member of a conversation in private."""
    person = signed_in(request)
    conversation = _member_conversation(person, pk)
    other = get_object_or_404(Person, pk=request.POST.get("person_id", 0) or 0)
    try:
        direct = services.start_direct_chat(person, other, conversation.organization)
    except (ValidationError, PermissionDenied) as refused:
        flash.error(request, _refusal_text(refused))
        return redirect("messaging:conversation", pk=conversation.pk)
    return redirect("messaging:conversation", pk=direct.pk)


class NewConversationForm(forms.Form):
    CHOICES = [
        ("class", gettext_lazy("Чат класса (все ученики класса)")),
        ("parents", gettext_lazy("Чат с родителями класса")),
        ("staff", gettext_lazy("Чат сотрудников")),
        ("other", gettext_lazy("Другой чат (кружок, методическое объединение…)")),
        ("info", gettext_lazy("Общешкольный информационный канал")),
        ("staff_channel", gettext_lazy("Канал для сотрудников")),
    ]
    what = forms.ChoiceField(label=gettext_lazy("Что создать"), choices=CHOICES)
    organization = forms.ModelChoiceField(
        label=gettext_lazy("Организация"), queryset=Organization.objects.none()
    )
    school_class = forms.ModelChoiceField(
        label=gettext_lazy("Класс"), queryset=SchoolClass.objects.none(), required=False
    )
    title = forms.CharField(label=gettext_lazy("Название"), max_length=200, required=False)

    def __init__(self, *args: Any, organizations: list[Organization], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = [o.pk for o in organizations]
        organization_field: Any = self.fields["organization"]
        organization_field.queryset = Organization.objects.filter(pk__in=ids)
        class_field: Any = self.fields["school_class"]
        class_field.queryset = SchoolClass.objects.filter(
            organization__in=ids, is_staff_class=False
        ).select_related("organization")
        if len(ids) == 1:
            organization_field.initial = ids[0]


# (kind, purpose) of each choice in the form.
_WHAT = {
    "class": (Conversation.Kind.CHAT, Conversation.Purpose.CLASS),
    "parents": (Conversation.Kind.CHAT, Conversation.Purpose.PARENTS),
    "staff": (Conversation.Kind.CHAT, Conversation.Purpose.STAFF),
    "other": (Conversation.Kind.CHAT, Conversation.Purpose.OTHER),
    "info": (Conversation.Kind.CHANNEL, Conversation.Purpose.INFO),
    "staff_channel": (Conversation.Kind.CHANNEL, Conversation.Purpose.STAFF),
}


def _default_title(what: str, school_class: SchoolClass | None) -> str:
    if what == "class" and school_class is not None:
        return _("%(name)s — чат класса") % {"name": school_class.name}
    if what == "parents" and school_class is not None:
        return _("%(name)s — родители") % {"name": school_class.name}
    return ""


@login_required
def conversation_new(request: HttpRequest) -> HttpResponse:
    person = signed_in(request)
    organizations = selectors.group_chat_organizations(current_memberships(person, timezone.now()))
    if not organizations:
        raise PermissionDenied(
            _("Ученики и родители не создают групповые чаты; начните личную переписку.")
        )
    form = NewConversationForm(request.POST or None, organizations=organizations)
    if request.method == "POST" and form.is_valid():
        what = form.cleaned_data["what"]
        kind, purpose = _WHAT[what]
        school_class = form.cleaned_data["school_class"]
        title = form.cleaned_data["title"] or _default_title(what, school_class)
        try:
            conversation = services.create_conversation(
                person,
                form.cleaned_data["organization"],
                title=title,
                kind=kind,
                purpose=purpose,
                school_class=school_class,
            )
        except services.ChatExists as exists:
            flash.info(request, _("Этот чат у вас уже есть — он открыт."))
            return redirect("messaging:conversation", pk=exists.conversation.pk)
        except (ValidationError, PermissionDenied) as refused:
            form.add_error(None, _refusal_text(refused))
        else:
            return redirect("messaging:conversation", pk=conversation.pk)
    return render(request, "messaging/new.html", {"form": form})


def _attachment_for(request: HttpRequest, pk: int) -> Attachment:
    person = signed_in(request)
    attachment = get_object_or_404(Attachment, pk=pk, message__isnull=False)
    _member_conversation(person, attachment.conversation_id)
    if attachment.message is not None and attachment.message.deleted_at is not None:
        raise Http404
    return attachment


@login_required
def attachment_file(request: HttpRequest, pk: int) -> FileResponse:
    attachment = _attachment_for(request, pk)
    response = FileResponse(
        attachment.file.open("rb"),
        content_type=attachment.content_type,
        as_attachment=attachment.kind != Attachment.Kind.IMAGE,
        filename=attachment.original_name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
def attachment_preview(request: HttpRequest, pk: int) -> FileResponse:
    attachment = _attachment_for(request, pk)
    if not attachment.preview:
        raise Http404
    response = FileResponse(attachment.preview.open("rb"), content_type="image/jpeg")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=86400"
    return response


class _MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class _MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", _MultipleFileInput())
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if isinstance(data, list | tuple):
            return [super(_MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


class LetterForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Тема"), max_length=letters.MAX_SUBJECT_LENGTH)
    text = forms.CharField(label=gettext_lazy("Текст письма"), widget=forms.Textarea)
    attachments = _MultipleFileField(
        label=gettext_lazy("Письмо и приложения (PDF, изображения, документы)"),
        required=False,
    )


@login_required
def letter_to_heads(request: HttpRequest, organization_id: int) -> HttpResponse:
    """An authority's admin writes one letter with attachments to all its schools' heads."""
    person = signed_in(request)
    authority = get_object_or_404(Organization, pk=organization_id)
    now = timezone.now()
    if not letters.may_write_letters(person, authority, now):
        raise Http404
    form = LetterForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            letters.post_letter_to_heads(
                person,
                authority,
                subject=form.cleaned_data["subject"],
                text=form.cleaned_data["text"],
                files=request.FILES.getlist("attachments"),
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, "; ".join(getattr(exc, "messages", [str(exc)])))
        else:
            flash.success(request, _("Письмо отправлено руководителям."))
            return redirect("messaging:letter", organization_id=authority.pk)
    return render(
        request,
        "messaging/letter.html",
        {
            "form": form,
            "authority": authority,
            "heads": letters.heads_of(authority, now),
            "channel": letters.letters_channel(authority),
        },
    )
