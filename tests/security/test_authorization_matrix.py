"""Who may call what: every API operation and every page × every kind of visitor.

Each row names an endpoint (an API operation as «METHOD /api/path», a page by its URL
name), how to call it with ids of school A, and the actors it lets in; everyone else is
refused. A cell passes when the answer is the expected one AND the body shows nothing the
actor may not see: another person's phone (only the person, their organization's admins
and the operator see it), a message text or a chat of school B outside its readers,
the name of someone who shares no organization with the actor, teachers' names in
monitoring to anyone but their school's admins, other families' children in people lists.

A new API operation or URL pattern without a row fails `test_every_endpoint_has_a_row`.

Allowed: 2xx, or 3xx that is neither a redirect to a sign-in page nor a refusal told by
a flash message. Refused: 401/403/404; for pages also that redirect to sign-in (anonymous)
or back with an error message (a form that was refused).
"""

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings
from django.contrib import messages as flash
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from openpyxl import load_workbook

from parta.api import api
from parta.invites.invitations import InvitationEntry, issue_personal_invitations, unseal
from parta.invites.models import PersonalInvitation
from parta.roster.models import RosterImport
from parta.roster.services import preview, upload_roster
from parta.support.models import AdminChangeRequest
from tests.security.conftest import ACTORS, NEW_ADMIN_PHONE, PDF, World, png_bytes

if TYPE_CHECKING:  # the test client's response, as django-stubs names it
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

SIGNED_IN = " ".join(ACTORS[1:])
EVERYONE = " ".join(ACTORS)
SCHOOL = "student parent teacher admin"
STAFF = "teacher admin"
Values = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    key: str  # «METHOD /api/...» or a URL name
    method: str
    allow: str  # actors let in, space-separated; the rest are refused
    case: str = ""
    values: Values = lambda w: {}
    query: str = ""
    body: Callable[[World], dict[str, Any]] | None = None
    multipart: bool = False
    prepare: Callable[[World], None] | None = None
    # Actors that get a given status instead (bad input for them, not a refusal).
    statuses: dict[str, int] = field(default_factory=dict)
    empty: str = ""  # actors answered 200 with an empty list: nothing of theirs to show
    shows: tuple[str, ...] = ()  # people whose names this answer carries by design
    before: Callable[[Client, World], None] | None = None  # e.g. a step of the same flow
    monitoring: bool = False  # a report: teachers' names only to their school's admins
    people_list: bool = False  # a parent/student sees no other family's children


def op(method: str, path: str, allow: str, **options: Any) -> Row:
    return Row(key=f"{method} /api{path}", method=method, allow=allow, **options)


def page(name: str, method: str, allow: str, **options: Any) -> Row:
    return Row(key=name, method=method, allow=allow, **options)


def school(w: World) -> dict[str, Any]:
    return {"organization_id": w.school.pk}


def pk_of(attribute: str, name: str) -> Values:
    """{name: the world's id}: `attribute` is an id, or an object whose pk it is."""

    def values(w: World) -> dict[str, Any]:
        value = getattr(w, attribute)
        return {name: value if isinstance(value, int) else value.pk}

    return values


def invitation(w: World) -> dict[str, Any]:
    """The 5А parent's personal invitation, issued in the cell (issuing again is a no-op)."""
    [made] = issue_personal_invitations(
        w.school,
        [InvitationEntry(w.people["parent"], "parent", w.class_5a, w.people["student"])],
        by=w.people["admin"],
    )
    return {"invitation_id": made.pk}


def invited_class(w: World) -> dict[str, Any]:
    """Class 5А with its parent invited: the status pages have a row to show."""
    invitation(w)
    return {"organization_id": w.school.pk, "class_id": w.class_5a.pk}


def invited_staff(w: World) -> dict[str, Any]:
    issue_personal_invitations(
        w.school, [InvitationEntry(w.people["teacher"], "teacher")], by=w.people["admin"]
    )
    return school(w)


ROSTER = "Класс;Фамилия;Имя;Роль\n5А;Новиков;Илья;ученик\n".encode()


def roster_file(w: World) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("список.csv", ROSTER, content_type="text/csv")}


def roster_import(w: World) -> dict[str, Any]:
    """A list of the school uploaded by its admin, waiting for confirmation."""
    made = upload_roster(w.school, "список.csv", ROSTER, by=w.people["admin"])
    return {"import_id": made.pk}


def roster_digest(w: World) -> dict[str, Any]:
    return {
        "digest": preview(RosterImport.objects.filter(organization=w.school).latest("pk")).digest()
    }


def reopen_admin_change(w: World) -> None:
    """Filing needs no open request of the school's: close the world's one in this cell."""
    AdminChangeRequest.objects.filter(pk=w.admin_change_id).update(
        status=AdminChangeRequest.Status.REJECTED, reason="Не тот бланк"
    )


def take_admin_change(w: World) -> None:
    AdminChangeRequest.objects.filter(pk=w.admin_change_id).update(
        status=AdminChangeRequest.Status.IN_PROGRESS, taken_by=w.people["operator"]
    )


def present_invite(client: Client, w: World) -> None:
    """The join flow's first step: this browser shows the invite link's token."""
    assert client.post(reverse("invites:join"), {"token": w.invite_token}).status_code == 302


def present_invitation(client: Client, w: World) -> None:
    """The personal joining's first step: this browser shows the 5А parent's slip code."""
    invitation(w)
    made = PersonalInvitation.objects.get(person=w.people["parent"], used_at__isnull=True)
    code = unseal(made)
    assert client.post(reverse("invites:personal-join"), {"code": code}).status_code == 302


def upload(w: World) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("map.png", png_bytes(), content_type="image/png")}


def documents(w: World) -> dict[str, Any]:
    return {
        "full_name": "Сменова Алла Борисовна",
        "phone": NEW_ADMIN_PHONE,
        "letter": SimpleUploadedFile("letter.pdf", PDF, content_type="application/pdf"),
        "order": SimpleUploadedFile("order.pdf", PDF, content_type="application/pdf"),
    }


CALL = pk_of("call_id", "call_id")
CLASS_CHAT = pk_of("class_chat", "conversation_id")
MESSAGE = pk_of("teacher_message", "message_id")
JOIN_REQUEST = pk_of("join_request_id", "request_id")
ADMIN_CHANGE = pk_of("admin_change_id", "request_id")
DISTRICT_ADMINS = "teacher admin authority operator"  # school A's report

API_ROWS = [
    op("GET", "/openapi.json", EVERYONE),
    op("GET", "/docs", EVERYONE),
    # --- accounts
    op("GET", "/accounts/sign-in/csrf", EVERYONE),
    op(
        "POST",
        "/accounts/sign-in/request-code",
        EVERYONE,
        body=lambda w: {"phone": "+79137770002"},
    ),
    op(
        "POST",
        "/accounts/sign-in/verify",
        "",
        body=lambda w: {"phone": "+79137770002", "code": "000000"},
        statuses=dict.fromkeys(ACTORS, 400),
    ),
    op("GET", "/accounts/me", SIGNED_IN),
    op(
        "GET",
        "/accounts/organizations/{organization_id}/people",
        SCHOOL + " operator",
        values=school,
        people_list=True,
    ),
    # --- calls
    op(
        "POST",
        "/calls/",
        "teacher student parent",
        case="members only, in a chat",
        body=lambda w: {"conversation_id": w.club_chat.pk, "title": "Урок"},
    ),
    op(
        "POST",
        "/calls/",
        "teacher",
        case="guests let in, in a chat",
        body=lambda w: {"conversation_id": w.club_chat.pk, "allow_anonymous": True},
    ),
    op(
        "POST",
        "/calls/",
        "teacher",
        case="a join link, in a chat",
        body=lambda w: {"conversation_id": w.club_chat.pk, "with_link": True},
    ),
    op(
        "POST",
        "/calls/",
        STAFF,
        case="standalone with a link",
        body=lambda w: {"organization_id": w.school.pk, "title": "Собрание"},
    ),
    # Whoever may post in the chat may start a broadcast; there is no Janus here, so they
    # are told so (400 «no_sfu»), and everyone else is refused before that.
    op(
        "POST",
        "/calls/broadcasts",
        "",
        case="in a chat, without Janus",
        body=lambda w: {"conversation_id": w.club_chat.pk},
        statuses=dict.fromkeys(("teacher", "student", "parent"), 400),
    ),
    op(
        "POST",
        "/calls/broadcasts",
        "",
        case="in the school's channel, without Janus",
        body=lambda w: {"conversation_id": w.channel.pk},
        statuses={"admin": 400},
    ),
    op("GET", "/calls/history", SIGNED_IN),
    # Whoever holds a call's link may come in, and sees who called.
    op(
        "POST",
        "/calls/links/redeem",
        SIGNED_IN,
        body=lambda w: {"token": w.call_link_token},
        shows=("teacher",),
    ),
    op("GET", "/calls/{call_id}", "teacher student admin", values=CALL),
    op(
        "PATCH",
        "/calls/{call_id}",
        STAFF,
        values=CALL,
        body=lambda w: {"allow_anonymous": True},
    ),
    op("POST", "/calls/{call_id}/link", STAFF, values=CALL),
    op("GET", "/calls/{call_id}/ice", "teacher student admin", values=CALL),
    op(
        "POST",
        "/calls/{call_id}/remove",
        STAFF,
        values=CALL,
        body=lambda w: {"person_id": w.people["student"].pk},
    ),
    op("POST", "/calls/{call_id}/end", STAFF, values=CALL),
    # Janus's event handler only, by its shared secret: no visitor's session lets anyone in.
    op(
        "POST",
        "/calls/janus/events",
        "",
        case="no one but Janus",
        body=lambda w: [{"type": 64, "timestamp": 1, "event": {}}],
    ),
    # --- invites
    op(
        "GET",
        "/invites/organizations/{organization_id}/links",
        STAFF,
        values=school,
        empty="student parent teacher_b admin_b authority_other authority operator",
    ),
    op(
        "POST",
        "/invites/organizations/{organization_id}/links",
        STAFF,
        values=school,
        body=lambda w: {"role": "student", "school_class_id": w.class_5a.pk},
    ),
    op("POST", "/invites/links/{link_id}/revoke", STAFF, values=pk_of("invite_id", "link_id")),
    op("POST", "/invites/preview", EVERYONE, body=lambda w: {"token": w.invite_token}),
    op(
        "POST",
        "/invites/redeem",
        SIGNED_IN,
        body=lambda w: {"token": w.invite_token},
        statuses={"admin": 400},  # an admin may not also be a student
    ),
    op(
        "POST",
        "/invites/organizations/{organization_id}/requests",
        SIGNED_IN,
        values=school,
        body=lambda w: {"role": "teacher", "message": "Примите"},
        statuses={"teacher": 400},  # a teacher there already
    ),
    op("GET", "/invites/organizations/{organization_id}/requests", "admin", values=school),
    op("GET", "/invites/my/requests", SIGNED_IN),
    op("POST", "/invites/requests/{request_id}/approve", "admin", values=JOIN_REQUEST),
    op(
        "POST",
        "/invites/requests/{request_id}/reject",
        "admin",
        values=JOIN_REQUEST,
        body=lambda w: {"reason": "Не наш учитель"},
    ),
    op("GET", "/invites/organizations/{organization_id}/members", "admin", values=school),
    op(
        "POST",
        "/invites/organizations/{organization_id}/members/{person_id}/roles",
        "admin",
        values=lambda w: {"organization_id": w.school.pk, "person_id": w.people["teacher"].pk},
        body=lambda w: {"role": "staff"},
    ),
    op(
        "POST",
        "/invites/organizations/{organization_id}/members/{person_id}/roles",
        "",
        case="admin to a student",
        values=lambda w: {"organization_id": w.school.pk, "person_id": w.people["student"].pk},
        body=lambda w: {"role": "admin"},
        statuses={"admin": 400},  # only adults are admins
    ),
    op(
        "DELETE",
        "/invites/organizations/{organization_id}/members/{person_id}/roles/{role}",
        "admin",
        values=lambda w: {
            "organization_id": w.school.pk,
            "person_id": w.people["teacher"].pk,
            "role": "teacher",
        },
    ),
    op(
        "DELETE",
        "/invites/organizations/{organization_id}/members/{person_id}",
        "admin",
        values=lambda w: {
            "organization_id": w.school.pk,
            "person_id": w.people["other_child"].pk,
        },
    ),
    op("GET", "/invites/organizations/{organization_id}/audit", "admin", values=school),
    op(
        "GET",
        "/invites/organizations/{organization_id}/invitations/classes/{class_id}",
        STAFF,
        values=invited_class,
    ),
    op(
        "GET",
        "/invites/organizations/{organization_id}/invitations/classes/{class_id}/slips",
        STAFF,
        values=invited_class,
    ),
    op(
        "POST",
        "/invites/organizations/{organization_id}/invitations/sms",
        STAFF,
        values=school,
        body=lambda w: {"invitation_ids": [invitation(w)["invitation_id"]]},
    ),
    op("POST", "/invites/invitations/{invitation_id}/reissue", STAFF, values=invitation),
    # --- messaging
    op("GET", "/messaging/conversations", SIGNED_IN),
    op(
        "POST",
        "/messaging/conversations",
        STAFF,
        body=lambda w: {"organization_id": w.school.pk, "title": "Методобъединение"},
    ),
    op(
        "POST",
        "/messaging/conversations/direct",
        STAFF,
        case="to another family's child",
        body=lambda w: {"organization_id": w.school.pk, "person_id": w.people["other_child"].pk},
    ),
    op(
        "POST",
        "/messaging/conversations/direct",
        "teacher admin parent",
        case="to another family's parent",
        body=lambda w: {"organization_id": w.school.pk, "person_id": w.people["other_parent"].pk},
    ),
    op(
        "POST",
        "/messaging/conversations/direct",
        "student parent admin",
        case="to the class teacher",
        body=lambda w: {"organization_id": w.school.pk, "person_id": w.people["teacher"].pk},
        statuses={"teacher": 400},
    ),
    op(
        "POST",
        "/messaging/conversations/direct",
        "teacher admin student",
        case="to a classmate",
        body=lambda w: {"organization_id": w.school.pk, "person_id": w.people["classmate"].pk},
    ),
    op(
        "GET",
        "/messaging/conversations/{conversation_id}",
        "teacher student admin",
        values=CLASS_CHAT,
    ),
    op(
        "PATCH",
        "/messaging/conversations/{conversation_id}",
        STAFF,
        values=CLASS_CHAT,
        body=lambda w: {"is_read_only": True},
    ),
    op("DELETE", "/messaging/conversations/{conversation_id}", STAFF, values=CLASS_CHAT),
    op(
        "POST",
        "/messaging/conversations/{conversation_id}/members",
        STAFF,
        values=CLASS_CHAT,
        body=lambda w: {"person_ids": [w.people["other_child"].pk]},
    ),
    op(
        "POST",
        "/messaging/conversations/{conversation_id}/join",
        SCHOOL,
        values=pk_of("channel", "conversation_id"),
    ),
    op(
        "DELETE",
        "/messaging/conversations/{conversation_id}/members/{person_id}",
        "teacher admin student",
        case="the student (leaves herself)",
        values=lambda w: {"conversation_id": w.class_chat.pk, "person_id": w.people["student"].pk},
    ),
    op(
        "PATCH",
        "/messaging/conversations/{conversation_id}/members/{person_id}",
        STAFF,
        values=lambda w: {"conversation_id": w.class_chat.pk, "person_id": w.people["student"].pk},
        body=lambda w: {"role": "moderator"},
    ),
    op(
        "GET",
        "/messaging/conversations/{conversation_id}/messages",
        "teacher student",
        values=CLASS_CHAT,
    ),
    op(
        "POST",
        "/messaging/conversations/{conversation_id}/messages",
        "teacher student",
        values=CLASS_CHAT,
        body=lambda w: {"text": "Новое сообщение"},
    ),
    op(
        "PATCH",
        "/messaging/messages/{message_id}",
        "teacher",
        values=MESSAGE,
        body=lambda w: {"text": "Исправлено"},
    ),
    op("DELETE", "/messaging/messages/{message_id}", STAFF, values=MESSAGE),
    op(
        "POST",
        "/messaging/messages/{message_id}/pin",
        STAFF,
        values=MESSAGE,
        body=lambda w: {"pinned": True},
    ),
    op(
        "POST",
        "/messaging/conversations/{conversation_id}/read",
        "teacher student",
        values=CLASS_CHAT,
        body=lambda w: {},
    ),
    # A person's own list: only members pin (the admin moderates the chat, has no row of it).
    op(
        "PUT",
        "/messaging/conversations/{conversation_id}/pin",
        "teacher student",
        values=CLASS_CHAT,
    ),
    op(
        "DELETE",
        "/messaging/conversations/{conversation_id}/pin",
        "teacher student",
        values=CLASS_CHAT,
    ),
    op("GET", "/messaging/unread", SIGNED_IN),
    op(
        "POST",
        "/messaging/conversations/{conversation_id}/attachments",
        "teacher student",
        values=CLASS_CHAT,
        body=upload,
        multipart=True,
    ),
    op(
        "GET",
        "/messaging/organizations/{organization_id}/channels",
        SCHOOL + " operator",
        values=school,
    ),
    # --- monitoring
    op(
        "GET",
        "/monitoring/report",
        "teacher admin teacher_b admin_b authority authority_other operator",
        case="the widest scope",
        monitoring=True,
    ),
    op(
        "GET",
        "/monitoring/report",
        DISTRICT_ADMINS,
        case="school A",
        query="org={organization_id}",
        values=school,
        monitoring=True,
    ),
    # --- notifications: a person's own subscriptions and settings
    op("GET", "/notifications/vapid-public-key", SIGNED_IN),
    op(
        "POST",
        "/notifications/push-subscriptions",
        SIGNED_IN,
        body=lambda w: {"endpoint": "https://evil.example/x", "keys": {"p256dh": "a", "auth": "b"}},
        statuses=dict.fromkeys(ACTORS[1:], 400),  # a host not allowed: refused for everyone
    ),
    op(
        "DELETE",
        "/notifications/push-subscriptions",
        SIGNED_IN,
        body=lambda w: {"endpoint": "https://fcm.googleapis.com/fcm/send/x"},
    ),
    op("GET", "/notifications/settings", SIGNED_IN),
    op(
        "PUT",
        "/notifications/settings",
        SIGNED_IN,
        body=lambda w: {"quiet_hours": True, "quiet_from": "21:00", "quiet_until": "07:00"},
    ),
    op(
        "PUT",
        "/notifications/conversations/{conversation_id}",
        "teacher student",
        values=CLASS_CHAT,
        body=lambda w: {"muted": True},
    ),
    # --- realtime
    op("GET", "/realtime/events", SIGNED_IN, query="after=0"),
    # --- roster: the school's admins only
    op(
        "POST",
        "/roster/organizations/{organization_id}/imports",
        "admin",
        values=school,
        body=roster_file,
        multipart=True,
    ),
    op("GET", "/roster/imports/{import_id}", "admin", values=roster_import),
    op(
        "POST",
        "/roster/imports/{import_id}/confirm",
        "admin",
        values=roster_import,
        body=roster_digest,
    ),
    # --- structure
    op("GET", "/structure/organizations/{organization_id}/profile", "admin", values=school),
    op(
        "PATCH",
        "/structure/organizations/{organization_id}/profile",
        "admin",
        values=school,
        body=lambda w: {"address": "ул. Школьная, 1"},
    ),
    op("GET", "/structure/organizations/{organization_id}/classes", "admin", values=school),
    op(
        "POST",
        "/structure/organizations/{organization_id}/classes",
        "admin",
        values=school,
        body=lambda w: {"name": "7Б"},
    ),
    op(
        "POST",
        "/structure/organizations/{organization_id}/classes/bulk",
        "admin",
        values=school,
        body=lambda w: {"plan": "8А–8Б"},
    ),
    op(
        "PUT",
        "/structure/classes/{class_id}",
        "admin",
        values=lambda w: {"class_id": w.class_5a.pk},
        body=lambda w: {"name": "5А", "class_teacher_id": w.people["teacher"].pk},
    ),
    op(
        "POST",
        "/structure/classes/{class_id}/students",
        "admin",
        values=lambda w: {"class_id": w.class_6a.pk},
        body=lambda w: {"student_id": w.people["student"].pk},
    ),
    # --- support
    op(
        "POST",
        "/support/organizations/{organization_id}/admin-change-requests",
        STAFF,
        values=school,
        body=documents,
        multipart=True,
        prepare=reopen_admin_change,
    ),
    op("GET", "/support/admin-change-requests", SIGNED_IN),
    op(
        "GET",
        "/support/admin-change-requests/{request_id}",
        "teacher admin operator",
        values=ADMIN_CHANGE,
    ),
    op(
        "GET",
        "/support/documents/{document_id}",
        "admin operator",
        values=pk_of("document_id", "document_id"),
    ),
    op("GET", "/support/desk/queue", "operator"),
    op("POST", "/support/desk/{request_id}/take", "operator", values=ADMIN_CHANGE),
    op(
        "POST",
        "/support/desk/{request_id}/approve",
        "operator",
        values=ADMIN_CHANGE,
        prepare=take_admin_change,
    ),
    op(
        "POST",
        "/support/desk/{request_id}/reject",
        "operator",
        values=ADMIN_CHANGE,
        body=lambda w: {"reason": "Нет приказа"},
    ),
]

PAGE_ROWS = [
    page("api:api-root", "GET", "", statuses=dict.fromkeys(ACTORS, 404)),
    page("set_language", "POST", EVERYONE, body=lambda w: {"language": "ru", "next": "/"}),
    page("accounts:sign-in", "GET", EVERYONE),
    page("accounts:sign-in-code", "GET", EVERYONE, statuses=dict.fromkeys(ACTORS, 302)),
    page("accounts:sign-out", "POST", EVERYONE),
    page(
        "monitoring:home",
        "GET",
        "teacher admin teacher_b admin_b authority authority_other operator",
    ),
    page(
        "monitoring:dashboard",
        "GET",
        DISTRICT_ADMINS,
        case="school A",
        values=lambda w: {"level": "organization", "ref": str(w.school.pk)},
        monitoring=True,
    ),
    page(
        "monitoring:dashboard",
        "GET",
        "authority operator",
        case="the district",
        values=lambda w: {"level": "district", "ref": str(w.district.pk)},
        monitoring=True,
    ),
    page(
        "monitoring:dashboard",
        "GET",
        "operator",
        case="the region",
        values=lambda w: {"level": "region", "ref": str(w.region.pk)},
        monitoring=True,
    ),
    # Asking for the platform falls back to the widest scope the viewer has (their school,
    # their district): the numbers they may see anyway, not the platform's.
    page(
        "monitoring:dashboard",
        "GET",
        "teacher admin teacher_b admin_b authority authority_other operator",
        case="the platform",
        values=lambda w: {"level": "platform", "ref": "all"},
        monitoring=True,
    ),
    page(
        "monitoring:report-download",
        "GET",
        DISTRICT_ADMINS,
        case="CSV of school A",
        values=lambda w: {"fmt": "csv"},
        query="org={organization_id}",
        monitoring=True,
    ),
    page(
        "monitoring:report-download",
        "GET",
        DISTRICT_ADMINS,
        case="XLSX of school A",
        values=lambda w: {"fmt": "xlsx"},
        query="org={organization_id}",
        monitoring=True,
    ),
    page("structure:profile", "GET", "admin", values=school),
    page("structure:classes", "GET", "admin", values=school),
    page(
        "structure:class-edit",
        "GET",
        "admin",
        values=lambda w: {"organization_id": w.school.pk, "class_id": w.class_5a.pk},
    ),
    page("invites:join", "GET", EVERYONE),
    page(
        "invites:join-phone",
        "POST",
        EVERYONE,
        body=lambda w: {"phone": "+79137770003"},
        before=present_invite,
    ),
    page("invites:join-code", "GET", EVERYONE, before=present_invite),
    page(
        "invites:join-accept",
        "POST",
        SIGNED_IN,
        before=present_invite,
        statuses={"admin": 400},  # an admin may not also be a student
    ),
    page("invites:personal-join", "GET", EVERYONE),
    page(
        "invites:personal-phone",
        "POST",
        EVERYONE,
        body=lambda w: {"phone": "+79137770004"},
        before=present_invitation,
    ),
    page("invites:personal-code", "GET", EVERYONE, before=present_invitation),
    # The 5А parent's record has signed in (it is this table's parent): her slip joins her,
    # and any other account that holds the code is refused with a reason (400).
    page(
        "invites:personal-accept",
        "POST",
        SIGNED_IN,
        before=present_invitation,
        statuses={actor: 400 for actor in SIGNED_IN.split() if actor != "parent"},
    ),
    page("invites:request-start", "GET", SIGNED_IN),
    page("invites:request-new", "GET", SIGNED_IN, values=school),
    page("invites:my-requests", "GET", SIGNED_IN),
    # Admins and class teachers; the menu hides it from everyone else.
    page("invites:manage", "GET", "teacher admin admin_b authority"),
    page("invites:links", "GET", STAFF, values=school),
    page(
        "invites:link-create",
        "POST",
        STAFF,
        values=school,
        body=lambda w: {"role": "student", "school_class": w.class_5a.pk, "expires_in_days": 7},
    ),
    page("invites:link", "GET", STAFF, values=lambda w: {"link_id": w.invite_id}),
    # A new link's token is shown only to the browser that just made it: for its managers
    # this one is «already shown» (410), everyone else is refused.
    page(
        "invites:link-created",
        "GET",
        STAFF,
        values=lambda w: {"link_id": w.invite_id},
        statuses={"teacher": 410, "admin": 410},
    ),
    page("invites:link-revoke", "POST", STAFF, values=lambda w: {"link_id": w.invite_id}),
    page("invites:requests", "GET", "admin", values=school),
    page(
        "invites:request-decide",
        "POST",
        "admin",
        values=lambda w: {"request_id": w.join_request_id},
        body=lambda w: {"decision": "approve"},
    ),
    page("invites:members", "GET", "admin", values=school, people_list=True),
    page(
        "invites:member",
        "GET",
        STAFF,
        case="a student of the class",
        values=lambda w: {"organization_id": w.school.pk, "person_id": w.people["student"].pk},
    ),
    page("invites:audit", "GET", "admin", values=school),
    # Personal invitations: the school's admins, and the class teacher for her class.
    page("invites:invitations", "GET", STAFF, values=school),
    page("invites:invitations-class", "GET", STAFF, values=invited_class),
    page("invites:invitations-class-slips", "GET", STAFF, values=invited_class),
    page("invites:invitations-class-sms", "POST", STAFF, values=invited_class),
    page("invites:invitations-staff", "GET", "admin", values=invited_staff),
    page("invites:invitations-staff-slips", "GET", "admin", values=invited_staff),
    page("invites:invitations-staff-sms", "POST", "admin", values=invited_staff),
    page("invites:invitation-sms", "POST", STAFF, values=invitation),
    page("invites:invitation-reissue", "POST", STAFF, values=invitation),
    page("roster:upload", "GET", "admin", values=school),
    page("roster:upload", "POST", "admin", case="a file", values=school, body=roster_file),
    page("roster:preview", "GET", "admin", values=roster_import),
    page("roster:confirm", "POST", "admin", values=roster_import, body=roster_digest),
    page("messaging:list", "GET", SIGNED_IN),
    # Staff of some organization; students, parents and the operator make no group chats.
    page("messaging:new", "GET", "teacher admin teacher_b admin_b authority_other authority"),
    page(
        "messaging:letter",
        "GET",
        "authority",
        values=lambda w: {"organization_id": w.authority_org.pk},
    ),
    page(
        "messaging:conversation", "GET", "teacher student", values=lambda w: {"pk": w.class_chat.pk}
    ),
    page("messaging:join", "POST", SCHOOL, values=lambda w: {"pk": w.channel.pk}),
    page(
        "messaging:pin",
        "POST",
        "teacher student",
        values=lambda w: {"pk": w.class_chat.pk},
        body=lambda w: {"pinned": "1"},
    ),
    page(
        "messaging:direct",
        "POST",
        "teacher",
        case="to another family's child",
        values=lambda w: {"pk": w.club_chat.pk},
        body=lambda w: {"person_id": w.people["other_child"].pk},
    ),
    page(
        "messaging:direct",
        "POST",
        "teacher parent",
        case="to another family's parent",
        values=lambda w: {"pk": w.club_chat.pk},
        body=lambda w: {"person_id": w.people["other_parent"].pk},
    ),
    page(
        "messaging:message-action",
        "POST",
        "teacher",
        values=lambda w: {"pk": w.teacher_message.pk},
        body=lambda w: {"action": "pin"},
    ),
    page(
        "messaging:attachment", "GET", "teacher student", values=lambda w: {"pk": w.attachment.pk}
    ),
    page(
        "messaging:attachment-preview",
        "GET",
        "teacher student",
        values=lambda w: {"pk": w.attachment.pk},
    ),
    page("calls:mine", "GET", SIGNED_IN),
    page(
        "calls:start",
        "POST",
        "teacher student parent",
        values=lambda w: {},
        body=lambda w: {"conversation": w.club_chat.pk},
    ),
    # A standalone call always has a link: the form offers only the organizations where one
    # may open a call to outsiders (the staff's), any other is a form error.
    page(
        "calls:start",
        "POST",
        STAFF,
        case="standalone with a link",
        body=lambda w: {"organization": w.school.pk, "allow_anonymous": "on"},
        statuses={actor: 400 for actor in ACTORS if actor not in ("anonymous", "teacher", "admin")},
    ),
    page(
        "calls:start-broadcast",
        "POST",
        "",
        case="in a chat, without Janus",
        body=lambda w: {"conversation": w.club_chat.pk},
        statuses=dict.fromkeys(("teacher", "student", "parent"), 400),
    ),
    page("calls:link", "GET", EVERYONE),
    page("calls:call", "GET", "teacher student admin", values=lambda w: {"pk": w.call_id}),
    page("calls:guest", "GET", "", values=lambda w: {"pk": w.call_id}),
    page("support:help", "GET", EVERYONE),
    page("support:file", "GET", STAFF, values=school),
    page(
        "support:request",
        "GET",
        "teacher admin operator",
        values=lambda w: {"pk": w.admin_change_id},
    ),
    page("support:document", "GET", "admin operator", values=lambda w: {"pk": w.document_id}),
    page("support:desk", "GET", "operator"),
    page("support:take", "POST", "operator", values=lambda w: {"pk": w.admin_change_id}),
    page(
        "support:approve",
        "POST",
        "operator",
        values=lambda w: {"pk": w.admin_change_id},
        prepare=take_admin_change,
    ),
    page(
        "support:reject",
        "POST",
        "operator",
        values=lambda w: {"pk": w.admin_change_id},
        body=lambda w: {"reason": "Нет приказа"},
    ),
    page("web:home", "GET", EVERYONE),
    page("notifications:manifest", "GET", EVERYONE),
    page("notifications:service-worker", "GET", EVERYONE),
    page("notifications:offline", "GET", EVERYONE),
    page("notifications:settings", "GET", SIGNED_IN),
    page(
        "notifications:chat",
        "POST",
        "teacher student",
        values=lambda w: {"conversation_id": w.class_chat.pk},
        body=lambda w: {"choice": "off"},
    ),
    page("web:my-organizations", "GET", SIGNED_IN),
    page("admin:index", "GET", "operator"),
]

ROWS = API_ROWS + PAGE_ROWS


# --- the walk: what exists -----------------------------------------------------------------


def _patterns(
    patterns: list[URLPattern | URLResolver], prefix: str = "", namespace: str = ""
) -> list[tuple[str, str]]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            found += _patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif pattern.name:
            found.append((prefix + str(pattern.pattern), namespace + pattern.name))
    return found


def _route_display(route: str) -> str:
    """«messages/<int:pk>/» → «/messages/{pk}/»; regex routes keep their group names."""
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    return "/" + route.replace("^", "").replace("$", "").replace("\\", "")


def api_operations() -> set[str]:
    schema = api.get_openapi_schema()
    return {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
    }


def page_routes() -> dict[str, str]:
    """Every named URL pattern outside the JSON API; Django's admin counts as one page (its
    index), guarded as a whole by is_staff."""
    return {
        name: _route_display(route)
        for route, name in _patterns(get_resolver().url_patterns)
        if not (name.startswith("api:") and name != "api:api-root")
        and not (name.startswith("admin:") and name != "admin:index")
    }


PAGES = page_routes()


def test_every_endpoint_has_a_row():
    """A new operation or page must come with its row (and an old row with its endpoint)."""
    documented_api_routes = {key.split(" ", 1)[1] for key in api_operations()}
    api_routes = {
        _route_display(route)
        for route, name in _patterns(get_resolver().url_patterns)
        if name.startswith("api:") and name not in ("api:api-root",)
    }
    assert api_routes - documented_api_routes - {"/api/openapi.json", "/api/docs"} == set()
    existing = api_operations() | {"GET /api/openapi.json", "GET /api/docs"} | set(PAGES)
    in_table = {row.key for row in ROWS}
    assert sorted(existing - in_table) == [], "endpoints without a row"
    assert sorted(in_table - existing) == [], "rows for endpoints that do not exist"


# --- a cell ---------------------------------------------------------------------------------


def _path(row: Row, w: World) -> str:
    values = row.values(w)
    if row.key in PAGES:
        path = reverse(row.key, kwargs=values)
    else:
        path = "/api" + row.key.split(" /api", 1)[1].format(**values)
    if row.query:
        path += "?" + row.query.format(**{**values, "organization_id": w.school.pk})
    return path


def _display(row: Row) -> str:
    route = PAGES.get(row.key) or row.key.split(" ", 1)[1]
    text = f"{row.method} {route}"
    return f"{text} [{row.case}]" if row.case else text


def _request(client: Client, row: Row, w: World) -> "TestResponse":
    path = _path(row, w)
    body = row.body(w) if row.body else None
    if row.method == "GET":
        return client.get(path)
    if row.key in PAGES or row.multipart:
        assert row.method == "POST"  # forms and uploads are posted
        return client.post(path, body or {})
    return client.generic(
        row.method,
        path,
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
    )


def _body_text(response: "TestResponse") -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    else:
        content = response.content
    kind = response.get("Content-Type", "")
    if "spreadsheetml" in kind:
        book = load_workbook(io.BytesIO(content), read_only=True)
        return "\n".join(
            " ".join(str(value) for value in row if value is not None)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    text = content.decode("utf-8", errors="replace")
    if "json" in kind and text:
        # Non-ASCII arrives \u-escaped: compare what the text says, not how it is spelled.
        text = json.dumps(json.loads(text), ensure_ascii=False)
    return text


def _outcome(response: "TestResponse") -> str:
    status = response.status_code
    if status in (401, 403, 404):
        return "refused"
    if 300 <= status < 400:
        location = response["Location"]
        if location.startswith((reverse("accounts:sign-in"), reverse("admin:login"))):
            return "refused"
        errors = [m for m in get_messages(response.wsgi_request) if m.level == flash.ERROR]
        return "refused" if errors else "allowed"
    if 200 <= status < 300:
        return "allowed"
    return f"status {status}"


def _expected(row: Row, actor: str) -> str:
    if actor in row.statuses:
        return f"status {row.statuses[actor]}"
    if actor in row.empty.split():
        return "empty"
    return "allowed" if actor in row.allow.split() else "refused"


def _got(row: Row, actor: str, response: "TestResponse", text: str) -> str:
    if actor in row.statuses:
        return f"status {response.status_code}"
    if actor in row.empty.split() and response.status_code == 200 and json.loads(text) == []:
        return "empty"
    return _outcome(response)


def leaks(row: Row, w: World, actor: str, text: str) -> list[str]:
    """What the body shows that this actor may not see."""
    found = []
    orgs, admin_of = w.orgs, w.admin_of
    mine = orgs.get(actor, set())
    for key, someone in w.people.items():
        shared = bool(orgs[key] & mine)
        phone_ok = actor in (key, "operator") or bool(orgs[key] & admin_of.get(actor, set()))
        if key == "newcomer":  # asked to join school A: its admins see the request
            shared = phone_ok = phone_ok or actor == "admin"
        national = someone.phone[2:] if someone.phone else ""
        if someone.phone and not phone_ok and (someone.phone in text or national in text):
            found.append(f"the phone of {key}")
        if key in row.shows:
            continue
        if not shared and actor not in (key, "operator") and someone.full_name in text:
            found.append(f"the name of {key}, who shares no organization with {actor}")
    if NEW_ADMIN_PHONE in text and actor not in ("teacher", "admin", "operator"):
        found.append("the phone in school A's admin-change request")
    for secret, readers in w.secrets.items():
        if secret in text and actor not in readers:
            found.append(f"«{secret}»")
    if row.monitoring:
        for key in ("teacher", "teacher_b", "admin", "admin_b"):
            teacher = w.people[key]
            mine_to_see = key == actor or bool(orgs[key] & admin_of.get(actor, set()))
            if not mine_to_see and teacher.full_name in text:
                found.append(f"the teacher {key} by name in a report")
    if row.people_list and actor in ("parent", "student"):
        others = {
            "parent": ("classmate", "other_child", "other_parent"),
            "student": ("other_child", "other_parent"),
        }[actor]
        found += [f"{key} in the people list" for key in others if w.people[key].full_name in text]
    return found


CELLS = [
    pytest.param(row, actor, id=f"{_display(row)} × {actor}") for row in ROWS for actor in ACTORS
]


@pytest.mark.parametrize(("row", "actor"), CELLS)
def test_cell(world, db, client, row: Row, actor: str):
    if row.prepare:
        row.prepare(world)
    if actor != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[actor]
    if row.before:
        row.before(client, world)
    response = _request(client, row, world)
    text = _body_text(response)
    got, expected = _got(row, actor, response, text), _expected(row, actor)
    assert (got, leaks(row, world, actor, text)) == (expected, []), (
        f"{response.status_code} {response.get('Location', '')} {text[:300]}"
    )


def _row(key: str, case: str = "") -> Row:
    return next(row for row in ROWS if row.key == key and row.case == case)


def test_the_leak_checks_see_what_bodies_carry(world, db, client):
    """The checks read real bodies (JSON un-escaped): the admin's members list carries the
    student's phone, the class chat its messages; the same text for others is a leak."""
    members = _row("GET /api/invites/organizations/{organization_id}/members")
    client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions["admin"]
    text = _body_text(_request(client, members, world))
    student = world.people["student"]
    assert student.phone in text and student.full_name in text
    assert leaks(members, world, "admin", text) == []
    assert "the phone of student" in leaks(members, world, "teacher", text)
    assert "the name of student, who shares no organization with teacher_b" in leaks(
        members, world, "teacher_b", text
    )

    messages = _row("GET /api/messaging/conversations/{conversation_id}/messages")
    client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions["teacher"]
    text = _body_text(_request(client, messages, world))
    assert "тайна-класса" in text
    assert leaks(messages, world, "teacher", text) == []
    assert "«тайна-класса»" in leaks(messages, world, "authority", text)


def test_the_leak_checks_know_reports_and_people_lists(world, db):
    report = _row("GET /api/monitoring/report", "school A")
    teacher = world.people["teacher"].full_name
    assert leaks(report, world, "admin", teacher) == []
    assert leaks(report, world, "operator", teacher) == ["the teacher teacher by name in a report"]
    people = _row("GET /api/accounts/organizations/{organization_id}/people")
    other_child = world.people["other_child"].full_name
    assert leaks(people, world, "teacher", other_child) == []
    assert leaks(people, world, "parent", other_child) == ["other_child in the people list"]
    assert leaks(people, world, "student", other_child) == ["other_child in the people list"]
