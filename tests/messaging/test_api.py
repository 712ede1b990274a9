"""The JSON API: every action, its refusals as 400/403/404 with a detail, the OpenAPI schema."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from parta.messaging.models import Attachment, Conversation, ConversationMember, Message
from parta.messaging.services import create_conversation
from tests.factories import client_for
from tests.messaging.files import PDF, image_bytes

pytestmark = pytest.mark.django_db
API = "/api/messaging"


@pytest.fixture
def chat(s):
    return create_conversation(
        s.teacher,
        s.org,
        title="5А",
        purpose=Conversation.Purpose.CLASS,
        school_class=s.five_a,
    )


def post(client, url, body):
    return client.post(API + url, body, content_type="application/json")


def test_create_a_class_chat_and_list_it_with_unread_counts(s):
    teacher = client_for(s.teacher)
    created = post(
        teacher,
        "/conversations",
        {
            "organization_id": s.org.pk,
            "title": "5А — классный чат",
            "purpose": "class",
            "school_class_id": s.five_a.pk,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["my_role"] == "owner" and body["may_post"] is True
    assert sorted(m["name"] for m in body["members"]) == sorted(
        p.full_name for p in [s.teacher, *s.students]
    )
    sent = post(teacher, f"/conversations/{body['id']}/messages", {"text": "Привет, 5А!"})
    assert sent.status_code == 201
    listed = client_for(s.students[0]).get(API + "/conversations").json()
    assert [(c["title"], c["unread"]) for c in listed] == [("5А — классный чат", 1)]


def test_a_retried_send_with_the_same_key_stores_one_message(s, chat):
    teacher = client_for(s.teacher)
    body = {"text": "контрольная в пятницу", "idempotency_key": "3f1c9a"}
    first = post(teacher, f"/conversations/{chat.pk}/messages", body)
    retry = post(teacher, f"/conversations/{chat.pk}/messages", body)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["id"] == retry.json()["id"]
    assert Message.objects.filter(conversation=chat).count() == 1


def test_refusals_have_a_status_and_a_clear_detail(s, chat, outsider):
    student = client_for(s.students[0])
    staff_chat = post(
        student, "/conversations", {"organization_id": s.org.pk, "title": "наш", "purpose": "staff"}
    )
    assert staff_chat.status_code == 403
    assert "не создают групповые чаты" in staff_chat.json()["detail"]
    empty = post(student, f"/conversations/{chat.pk}/messages", {"text": " "})
    assert (empty.status_code, empty.json()["detail"]) == (400, "Пустое сообщение не отправляется.")
    # Someone not in the chat does not learn it exists.
    stranger = client_for(outsider)
    assert stranger.get(f"{API}/conversations/{chat.pk}").status_code == 404
    assert post(stranger, f"/conversations/{chat.pk}/messages", {"text": "эй"}).status_code == 404
    assert Client().get(API + "/conversations").status_code == 401
    assert Message.objects.count() == 0


def test_edit_delete_pin_reply_and_read_through_the_api(s, chat):
    teacher, student = client_for(s.teacher), client_for(s.students[0])
    question = post(student, f"/conversations/{chat.pk}/messages", {"text": "Что задали?"}).json()
    answer = post(
        teacher, f"/conversations/{chat.pk}/messages", {"text": "§12", "reply_to": question["id"]}
    ).json()
    assert answer["reply_to"]["text"] == "Что задали?"
    edited = teacher.patch(
        f"{API}/messages/{answer['id']}", {"text": "§12–13"}, content_type="application/json"
    )
    assert (edited.json()["text"], edited.json()["edited"]) == ("§12–13", True)
    assert (
        student.patch(
            f"{API}/messages/{answer['id']}", {"text": "нет"}, content_type="application/json"
        ).status_code
        == 403
    )
    pinned = post(teacher, f"/messages/{answer['id']}/pin", {"pinned": True}).json()
    assert pinned["pinned"] is True
    detail = student.get(f"{API}/conversations/{chat.pk}").json()
    assert [m["id"] for m in detail["pinned"]] == [answer["id"]]
    assert detail["unread"] == 1
    read = post(student, f"/conversations/{chat.pk}/read", {})
    assert read.json()["unread"] == 0
    deleted = student.delete(f"{API}/messages/{question['id']}").json()
    assert (deleted["deleted"], deleted["text"]) == (True, "")
    page = student.get(f"{API}/conversations/{chat.pk}/messages?limit=10").json()
    assert [m["id"] for m in page] == [question["id"], answer["id"]]
    after = student.get(f"{API}/conversations/{chat.pk}/messages?after={question['id']}").json()
    assert [m["id"] for m in after] == [answer["id"]]


def test_members_roles_read_only_and_removal_through_the_api(s, chat):
    admin, student = client_for(s.admin), client_for(s.students[0])
    # The admin moderates the school's chats without being in them.
    ro = admin.patch(
        f"{API}/conversations/{chat.pk}", {"is_read_only": True}, content_type="application/json"
    )
    assert ro.json()["is_read_only"] is True
    refused = post(student, f"/conversations/{chat.pk}/messages", {"text": "можно?"})
    assert (refused.status_code, refused.json()["detail"]) == (403, "Беседа только для чтения.")
    made = admin.patch(
        f"{API}/conversations/{chat.pk}/members/{s.students[0].pk}",
        {"role": "moderator"},
        content_type="application/json",
    )
    assert made.json()["role"] == "moderator"
    added = post(
        client_for(s.teacher), f"/conversations/{chat.pk}/members", {"person_ids": [s.colleague.pk]}
    )
    assert s.colleague.full_name in [m["name"] for m in added.json()["members"]]
    removed = admin.delete(f"{API}/conversations/{chat.pk}/members/{s.students[1].pk}")
    assert removed.status_code == 204
    gone = client_for(s.students[1])
    assert gone.get(f"{API}/conversations/{chat.pk}/messages").status_code == 404
    assert not ConversationMember.objects.filter(
        conversation=chat, person=s.students[1], left_at__isnull=True
    ).exists()


def test_direct_chat_and_channels_through_the_api(s, outsider, other_school):
    student = client_for(s.students[0])
    direct = post(
        student, "/conversations/direct", {"organization_id": s.org.pk, "person_id": s.teacher.pk}
    )
    assert direct.status_code == 200 and direct.json()["purpose"] == "direct"
    stranger = post(
        student, "/conversations/direct", {"organization_id": s.org.pk, "person_id": outsider.pk}
    )
    assert stranger.status_code == 403
    channel = post(
        client_for(s.admin),
        "/conversations",
        {"organization_id": s.org.pk, "title": "Новости", "kind": "channel", "purpose": "info"},
    ).json()
    listed = student.get(f"{API}/organizations/{s.org.pk}/channels").json()
    assert [c["title"] for c in listed] == ["Новости"]
    assert post(student, f"/conversations/{channel['id']}/join", {}).json()["role"] == "member"
    refused = post(student, f"/conversations/{channel['id']}/messages", {"text": "я тоже"})
    assert refused.status_code == 403


def test_attachments_through_the_api(s, chat, settings):
    teacher = client_for(s.teacher)
    url = f"{API}/conversations/{chat.pk}/attachments"
    ok = teacher.post(url, {"file": SimpleUploadedFile("board.png", image_bytes())})
    assert ok.status_code == 201, ok.content
    attachment = ok.json()
    sent = post(
        teacher,
        f"/conversations/{chat.pk}/messages",
        {"text": "", "attachment_ids": [attachment["id"]]},
    ).json()
    assert [a["id"] for a in sent["attachments"]] == [attachment["id"]]
    student = client_for(s.students[0])
    preview = student.get(attachment["preview_url"])
    assert preview.status_code == 200 and preview["Content-Type"] == "image/jpeg"
    full = student.get(attachment["url"])
    assert full.getvalue() == Attachment.objects.get().file.read()
    wrong = teacher.post(url, {"file": SimpleUploadedFile("a.pdf", b"#!/bin/sh\nrm -rf /\n")})
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "type_not_allowed"
    settings.PARTA_ATTACHMENT_MAX_BYTES = 10
    big = teacher.post(url, {"file": SimpleUploadedFile("a.pdf", PDF)})
    assert (big.status_code, big.json()["code"]) == (400, "too_large")
    assert Attachment.objects.count() == 1
    # Someone outside the chat cannot fetch the file.
    assert client_for(s.admin).get(attachment["url"]).status_code == 404


def test_every_action_is_in_the_openapi_schema(s):
    schema = client_for(s.teacher).get("/api/openapi.json").json()
    paths = {p: set(ops) for p, ops in schema["paths"].items() if p.startswith(API)}
    assert paths == {
        f"{API}/conversations": {"get", "post"},
        f"{API}/conversations/direct": {"post"},
        f"{API}/conversations/{{conversation_id}}": {"get", "patch", "delete"},
        f"{API}/conversations/{{conversation_id}}/members": {"post"},
        f"{API}/conversations/{{conversation_id}}/join": {"post"},
        f"{API}/conversations/{{conversation_id}}/members/{{person_id}}": {"delete", "patch"},
        f"{API}/conversations/{{conversation_id}}/messages": {"get", "post"},
        f"{API}/messages/{{message_id}}": {"patch", "delete"},
        f"{API}/messages/{{message_id}}/pin": {"post"},
        f"{API}/conversations/{{conversation_id}}/read": {"post"},
        f"{API}/conversations/{{conversation_id}}/attachments": {"post"},
        f"{API}/organizations/{{organization_id}}/channels": {"get"},
        f"{API}/conversations/{{conversation_id}}/pin": {"put", "delete"},
        f"{API}/unread": {"get"},
    }
    assert "MessageOut" in schema["components"]["schemas"]
