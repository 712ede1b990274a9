"""The calls API and pages: starting, links (hashed, shown once), anonymous guests, removal,
ending, ICE servers with coturn credentials, history; refusals store nothing."""

import base64
import hashlib
import hmac

import pytest
from django.test import override_settings
from django.utils import timezone

from parta.calls.media import ice_servers, turn_credentials
from parta.calls.models import Call, CallParticipation
from parta.calls.services import open_call
from parta.calls.tokens import token_hash
from tests.factories import client_for

pytestmark = pytest.mark.django_db


def test_start_in_a_conversation_by_api_and_history(c):
    api = client_for(c.teacher)
    response = api.post(
        "/api/calls/", {"conversation_id": c.chat.pk}, content_type="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["link"], body["call"]["conversation_id"]) == (
        True,
        None,
        c.chat.pk,
    )
    call_id = body["call"]["id"]
    detail = client_for(c.student).get(f"/api/calls/{call_id}").json()
    # Nobody is in it until someone's page connects (the creator included).
    assert (detail["present"], detail["may_manage"]) == (0, False)
    assert detail["attendees"] == []
    history = api.get(f"/api/calls/history?conversation_id={c.chat.pk}").json()
    assert [h["call"]["id"] for h in history] == [call_id]
    assert client_for(c.colleague).get(f"/api/calls/{call_id}").status_code == 404
    # The conversation page shows «Присоединиться» to the running call.
    page = client_for(c.student).get(f"/messages/{c.chat.pk}/").content.decode()
    assert f'href="/calls/{call_id}/"' in page and "Присоединиться" in page


def test_a_non_member_cannot_start_a_call_in_a_conversation(c):
    response = client_for(c.colleague).post(
        "/api/calls/", {"conversation_id": c.chat.pk}, content_type="application/json"
    )
    assert response.status_code == 404
    assert not Call.objects.exists()


def test_standalone_call_gets_a_link_stored_only_as_a_hash(c):
    api = client_for(c.teacher)
    response = api.post(
        "/api/calls/",
        {"organization_id": c.org.pk, "title": "Педсовет"},
        content_type="application/json",
    )
    assert response.status_code == 201
    link = response.json()["link"]
    token = link.split("#", 1)[1]
    assert len(base64.urlsafe_b64decode(token + "==")) == 32
    call = Call.objects.get()
    assert call.link_hash == token_hash(token) and token not in call.link_hash
    assert link.startswith("http://testserver/calls/link/#")
    # An outsider signed in presents the token and may then open the call page.
    outsider = client_for(c.colleague)
    redeemed = outsider.post(
        "/api/calls/links/redeem", {"token": token}, content_type="application/json"
    )
    assert redeemed.json()["id"] == call.pk
    assert outsider.get(f"/calls/{call.pk}/").status_code == 200
    # A new link revokes the old one for those who had not come in yet.
    assert api.post(f"/api/calls/{call.pk}/link").status_code == 201
    late = client_for(c.student)
    assert (
        late.post(
            "/api/calls/links/redeem", {"token": token}, content_type="application/json"
        ).status_code
        == 400
    )
    assert outsider.get(f"/calls/{call.pk}/").status_code == 404


def test_a_bad_link_is_refused(c):
    response = client_for(c.student).post(
        "/api/calls/links/redeem", {"token": "nope"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "Ссылка на звонок недействительна."
    assert client_for().post("/calls/link/", {"token": "nope"}).status_code == 404


def test_anonymous_guests_only_when_switched_on(c):
    opened = open_call(c.teacher, c.org, title="Собрание")
    guest = client_for()
    response = guest.post("/calls/link/", {"token": opened.link_token})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/")
    assert guest.get(f"/calls/{opened.call.pk}/guest/").status_code == 404
    # Only the creator or an admin switches it on.
    assert (
        client_for(c.student)
        .patch(
            f"/api/calls/{opened.call.pk}",
            {"allow_anonymous": True},
            content_type="application/json",
        )
        .status_code
        == 404
    )
    switched = client_for(c.admin).patch(
        f"/api/calls/{opened.call.pk}", {"allow_anonymous": True}, content_type="application/json"
    )
    assert switched.json()["allow_anonymous"] is True
    response = guest.post("/calls/link/", {"token": opened.link_token})
    assert response["Location"] == f"/calls/{opened.call.pk}/guest/"
    assert guest.get(f"/calls/{opened.call.pk}/").status_code == 302  # a name first
    assert guest.post(f"/calls/{opened.call.pk}/guest/", {"name": ""}).status_code == 200
    guest.post(f"/calls/{opened.call.pk}/guest/", {"name": "Бабушка Артёма"})
    page = guest.get(f"/calls/{opened.call.pk}/")
    assert page.status_code == 200 and "call.js" in page.content.decode()


def test_removal_and_end_through_the_api(c):
    call = open_call(c.teacher, c.org, conversation=c.chat).call
    client_for(c.student).get(f"/calls/{call.pk}/")
    CallParticipation.objects.create(call=call, person=c.student, joined_at=timezone.now())
    refused = client_for(c.student).post(
        f"/api/calls/{call.pk}/remove", {"person_id": c.teacher.pk}, content_type="application/json"
    )
    assert refused.status_code == 403
    removed = client_for(c.teacher).post(
        f"/api/calls/{call.pk}/remove", {"person_id": c.student.pk}, content_type="application/json"
    )
    assert removed.status_code == 200
    stay = CallParticipation.objects.get(call=call, person=c.student)
    assert stay.removed_by == c.teacher and stay.left_at is not None
    assert client_for(c.student).get(f"/calls/{call.pk}/").status_code == 404
    assert client_for(c.student).post(f"/api/calls/{call.pk}/end").status_code == 403
    ended = client_for(c.teacher).post(f"/api/calls/{call.pk}/end")
    assert ended.json()["call"]["ended_at"] is not None
    page = client_for(c.teacher).get(f"/calls/{call.pk}/")
    assert page.status_code == 410 and "Соколов Артём" in page.content.decode()
    assert client_for(c.colleague).get(f"/calls/{call.pk}/").status_code == 404


def test_my_calls_page_lists_history_and_starts_a_call_by_link(c):
    open_call(c.teacher, c.org, conversation=c.chat)
    page = client_for(c.teacher).get("/calls/")
    assert page.status_code == 200 and "Математика 5А" in page.content.decode()
    assert "Математика 5А" not in client_for(c.student).get("/calls/").content.decode()
    response = client_for(c.teacher).post(
        "/calls/start/", {"organization": c.org.pk, "title": "Методобъединение"}
    )
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert "/calls/link/#" in response.content.decode()
    bad = client_for(c.teacher).post("/calls/start/", {"organization": 999999})
    assert bad.status_code == 400
    assert Call.objects.count() == 2


def test_turn_credentials_are_cotun_rest_credentials():
    username, credential = turn_credentials("s3cret", "p7", 1_800_000_000)
    assert username == "1800000000:p7"
    expected = hmac.new(b"s3cret", b"1800000000:p7", hashlib.sha1).digest()
    assert base64.b64decode(credential) == expected


@override_settings(
    PARTA_ICE_STUN_URLS=["stun:stun.example.ru:3478"],
    PARTA_TURN_URLS=["turn:turn.example.ru:3478?transport=udp"],
    PARTA_TURN_SECRET="s3cret",
    PARTA_TURN_TTL=600,
)
def test_ice_servers_from_settings_with_short_lived_turn_credentials(c):
    now = timezone.now()
    stun, turn = ice_servers("p1", now)
    assert stun == {"urls": ["stun:stun.example.ru:3478"]}
    expires, identity = turn["username"].split(":")
    assert (int(expires) - int(now.timestamp()), identity) == (600, "p1")
    call = open_call(c.teacher, c.org, conversation=c.chat).call
    served = client_for(c.student).get(f"/api/calls/{call.pk}/ice").json()["ice_servers"]
    assert served[1]["username"].endswith(f":p{c.student.pk}")


def test_without_settings_there_are_no_ice_servers():
    assert ice_servers("p1", timezone.now()) == []
