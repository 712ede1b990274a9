"""Call pages: the call itself, starting one, the invite link (with a guest's name when
anonymous joining is on) and the person's call history."""

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from parta.accounts.models import Person
from parta.accounts.selectors import current_memberships
from parta.calls import selectors, services
from parta.calls.media import is_presenter
from parta.calls.models import Call
from parta.calls.services import MAX_GUEST_NAME_LENGTH, MAX_TITLE_LENGTH
from parta.calls.sessions import admit_by_link, guest_identity, link_hash_for, set_guest_name
from parta.calls.tokens import link_path
from parta.messaging.models import Conversation
from parta.messaging.selectors import may_post, membership, messages_in
from parta.structure.models import Organization
from parta.web.auth import signed_in

HEARTBEAT_MS = 10_000


class StandaloneCallForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), label=gettext_lazy("Организация")
    )
    title = forms.CharField(label=gettext_lazy("Тема"), max_length=MAX_TITLE_LENGTH, required=False)
    allow_anonymous = forms.BooleanField(
        label=gettext_lazy("Пускать по ссылке без входа (гости с именем)"), required=False
    )
    audio_only = forms.BooleanField(label=gettext_lazy("Только звук"), required=False)

    def __init__(self, person: Person, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        now = timezone.now()
        # A call outside any conversation always has a link: only the staff may open one.
        orgs = [
            org
            for org in current_memberships(person, now)
            if selectors.may_open_to_outsiders(person, org, now)
        ]
        self.fields["organization"].queryset = Organization.objects.filter(  # type: ignore[attr-defined]
            pk__in=[org.pk for org in orgs]
        )


class GuestNameForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Ваше имя"), max_length=MAX_GUEST_NAME_LENGTH)


def _refusal(refused: ValidationError | PermissionDenied) -> str:
    return " ".join(refused.messages) if isinstance(refused, ValidationError) else str(refused)


def _refused(
    request: HttpRequest, person: Person, refused: ValidationError | PermissionDenied
) -> HttpResponse:
    """The person's calls page with the reason a call or a broadcast did not start."""
    history = selectors.person_history(person, timezone.now())
    return render(
        request,
        "calls/mine.html",
        {"history": history, "form": StandaloneCallForm(person), "error": _refusal(refused)},
        status=403 if isinstance(refused, PermissionDenied) else 400,
    )


@login_required
def my_calls(request: HttpRequest) -> HttpResponse:
    """The person's page of calls: history with participants and durations, and a form to
    start a call with a link."""
    person = signed_in(request)
    form = StandaloneCallForm(person)
    history = selectors.person_history(person, timezone.now())
    return render(request, "calls/mine.html", {"history": history, "form": form})


@login_required
@require_POST
def start(request: HttpRequest) -> HttpResponse:
    """Start (or join the running) call of a conversation, or a standalone call by link."""
    person = signed_in(request)
    conversation = None
    if request.POST.get("conversation"):
        conversation = get_object_or_404(
            Conversation.objects.select_related("organization"),
            pk=request.POST.get("conversation"),
        )
        if membership(person, conversation) is None:
            raise Http404
        organization = conversation.organization
        options: dict[str, Any] = {"audio_only": bool(request.POST.get("audio_only"))}
    else:
        form = StandaloneCallForm(person, request.POST)
        if not form.is_valid():
            history = selectors.person_history(person, timezone.now())
            return render(
                request, "calls/mine.html", {"history": history, "form": form}, status=400
            )
        organization = form.cleaned_data["organization"]
        options = {
            "title": form.cleaned_data["title"],
            "allow_anonymous": form.cleaned_data["allow_anonymous"],
            "audio_only": form.cleaned_data["audio_only"],
        }
    try:
        opened = services.open_call(person, organization, conversation=conversation, **options)
    except (ValidationError, PermissionDenied) as refused:
        return _refused(request, person, refused)
    if opened.link_token:
        # Shown once: no cache may keep the page with the token.
        response = render(
            request,
            "calls/link_created.html",
            {"call": opened.call, "link": request.build_absolute_uri(link_path(opened.link_token))},
        )
        response["Cache-Control"] = "no-store"
        return response
    return redirect("calls:call", pk=opened.call.pk)


def link(request: HttpRequest) -> HttpResponse:
    """/calls/link/#<token>: the page posts the token from the fragment; a signed-in person
    goes to the call, a guest (when the call lets them) first gives a name."""
    if request.method != "POST":
        return render(request, "calls/link.html", {})
    try:
        call = services.call_by_link(request.POST.get("token", ""))
    except ValidationError as refused:
        return render(request, "calls/link.html", {"error": _refusal(refused)}, status=404)
    admit_by_link(request.session, call)
    if request.user.is_authenticated:
        return redirect("calls:call", pk=call.pk)
    if not call.allow_anonymous:
        return redirect(
            f"{reverse('accounts:sign-in')}?next={reverse('calls:call', args=[call.pk])}"
        )
    return redirect("calls:guest", pk=call.pk)


def guest(request: HttpRequest, pk: int) -> HttpResponse:
    """A guest who came by link types the name the others will see."""
    call = get_object_or_404(Call, pk=pk)
    if not selectors.may_join(
        None, call, timezone.now(), link_hash=link_hash_for(request.session, pk)
    ):
        raise Http404
    form = GuestNameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        set_guest_name(request.session, form.cleaned_data["name"])
        return redirect("calls:call", pk=pk)
    return render(request, "calls/guest.html", {"call": call, "form": form})


def call_page(request: HttpRequest, pk: int) -> HttpResponse:
    call = get_object_or_404(
        Call.objects.select_related("conversation", "organization", "created_by"), pk=pk
    )
    person = request.user if request.user.is_authenticated else None
    now = timezone.now()
    if call.ended_at is not None:
        if person is None or not selectors.may_see_history(person, call, now):
            raise Http404
        return render(
            request,
            "calls/ended.html",
            {"summary": selectors.call_summary(call, now)},
            status=410,
        )
    if not selectors.may_join(person, call, now, link_hash=link_hash_for(request.session, pk)):
        if person is None:
            return redirect(f"{reverse('accounts:sign-in')}?next={request.path}")
        raise Http404
    if person is None and guest_identity(request.session) is None:
        return redirect("calls:guest", pk=pk)
    in_conversation = (
        person is not None
        and call.conversation is not None
        and membership(person, call.conversation) is not None
    )
    config = {
        "call_id": call.pk,
        "socket": f"/ws/calls/{call.pk}/",
        "conversation_id": call.conversation_id if in_conversation else None,
        "audio_only": call.audio_only,
        "heartbeat_ms": HEARTBEAT_MS,
        "strings": _call_strings(),
    }
    if call.kind == Call.Kind.BROADCAST and person is not None:
        return _broadcast_page(request, call, person, config)
    return render(
        request,
        "calls/call.html",
        {
            "call": call,
            "config": config,
            "in_conversation": in_conversation,
            "may_open": person is not None
            and selectors.may_open_to_outsiders(person, call.organization, now),
        },
    )


@login_required
@require_POST
def start_broadcast(request: HttpRequest) -> HttpResponse:
    """Start (or join the running) broadcast of a conversation from its panel."""
    person = signed_in(request)
    conversation = get_object_or_404(
        Conversation.objects.select_related("organization"), pk=request.POST.get("conversation")
    )
    if membership(person, conversation) is None:
        raise Http404
    try:
        opened = services.open_broadcast(person, conversation)
    except (ValidationError, PermissionDenied) as refused:
        return _refused(request, person, refused)
    return redirect("calls:call", pk=opened.call.pk)


# The last messages of the conversation shown beside a broadcast when the page opens.
BROADCAST_CHAT_MESSAGES = 30


def _broadcast_page(
    request: HttpRequest, call: Call, person: Person, config: dict[str, Any]
) -> HttpResponse:
    """A broadcast: its presenters get the call page's camera and microphone, a viewer only
    the video and the conversation's chat (to write in it when they may post there)."""
    presenting = is_presenter(call, f"p{person.pk}")
    conversation = call.conversation
    words = {
        **config["strings"],
        "ended": _("Трансляция завершена."),
        "confirm_end": _("Завершить трансляцию для всех?"),
        "refused": _("Нет доступа к этой трансляции."),
    }
    return render(
        request,
        "calls/broadcast.html",
        {
            "call": call,
            "presenting": presenting,
            "config": {**config, "role": "presenter" if presenting else "viewer", "strings": words},
            "in_conversation": config["conversation_id"] is not None,
            "may_post": conversation is not None and may_post(person, conversation, timezone.now()),
            "recent": messages_in(conversation, limit=BROADCAST_CHAT_MESSAGES)
            if conversation is not None and config["conversation_id"] is not None
            else [],
        },
    )


def _call_strings() -> dict[str, str]:
    """The words call.js shows, in the page's language."""
    return {
        "mic_on": _("Микрофон"),
        "mic_off": _("Микрофон выключен"),
        "cam_on": _("Камера"),
        "cam_off": _("Камера выключена"),
        "screen": _("Показать экран"),
        "screen_stop": _("Остановить показ"),
        "hand": _("Поднять руку"),
        "hand_down": _("Опустить руку"),
        "hand_raised": _("поднял(а) руку"),
        "mute": _("Выключить микрофон"),
        "remove": _("Удалить из звонка"),
        "confirm_remove": _("Удалить участника из звонка? Вернуться он не сможет."),
        "confirm_end": _("Завершить звонок для всех?"),
        "muted": _("Ведущий выключил ваш микрофон."),
        "removed": _("Вас удалили из звонка."),
        "ended": _("Звонок завершён."),
        "refused": _("Нет доступа к этому звонку."),
        "reconnecting": _("Связь потеряна, подключаемся снова…"),
        "audio_only": _("Участников много: видео отключено, только звук."),
        "sfu_down": _("Сервер видеосвязи не отвечает: попробуйте войти в звонок снова."),
        "no_devices": _("Камера и микрофон недоступны: вы только слушаете."),
        "link_made": _("Новая ссылка (старая больше не действует):"),
        "you": _("Вы"),
    }
