import json

from django.utils import timezone

from parta.accounts.models import Role
from parta.accounts.selectors import holds_role
from parta.invites.models import InviteLink, JoinRequest
from tests.invites.conftest import make_link


def _post(client, url, data=None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def test_api_link_lifecycle(client, world, newcomer):
    client.force_login(world.admin)
    created = _post(
        client,
        f"/api/invites/organizations/{world.org.pk}/links",
        {"role": "student", "school_class_id": world.class_5a.pk, "max_uses": 5},
    )
    assert created.status_code == 201
    body = created.json()
    token = body["url"].split("#", 1)[1]
    assert body["role"] == "student" and body["max_uses"] == 5 and body["needs_approval"] is False
    listed = client.get(f"/api/invites/organizations/{world.org.pk}/links").json()
    assert [link["id"] for link in listed] == [body["id"]]
    assert token not in json.dumps(listed)

    client.logout()
    preview = _post(client, "/api/invites/preview", {"token": token})
    assert preview.json()["organization"] == world.org.full_name
    assert preview.json()["school_class"] == "5А"
    assert _post(client, "/api/invites/redeem", {"token": token}).status_code == 401

    client.force_login(newcomer)
    redeemed = _post(client, "/api/invites/redeem", {"token": token})
    assert redeemed.json() == {"joined": True, "join_request_id": None}
    assert holds_role(newcomer, world.org, Role.STUDENT, timezone.now())

    client.force_login(world.admin)
    assert _post(client, f"/api/invites/links/{body['id']}/revoke").json()["revoked_at"]
    gone = _post(client, "/api/invites/preview", {"token": token})
    unknown = _post(client, "/api/invites/preview", {"token": "nope"})
    assert gone.status_code == unknown.status_code == 404
    assert gone.json() == unknown.json()


def test_api_link_names_its_role_there_is_no_default(client, world):
    client.force_login(world.admin)
    url = f"/api/invites/organizations/{world.org.pk}/links"
    missing = _post(client, url, {"school_class_id": world.class_5a.pk})
    unknown = _post(client, url, {"role": "", "school_class_id": world.class_5a.pk})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"][-1] == "role"
    assert unknown.status_code == 400
    assert InviteLink.objects.count() == 0


def test_api_refuses_links_to_non_admins(client, world):
    client.force_login(world.teacher)
    response = _post(
        client, f"/api/invites/organizations/{world.org.pk}/links", {"role": "teacher"}
    )
    assert response.status_code == 403
    assert InviteLink.objects.count() == 0


def test_api_requests_and_members(client, world, newcomer):
    client.force_login(newcomer)
    created = _post(
        client, f"/api/invites/organizations/{world.org.pk}/requests", {"role": "teacher"}
    )
    assert created.status_code == 201
    request_id = created.json()["id"]
    assert _post(client, f"/api/invites/requests/{request_id}/approve").status_code == 403
    client.force_login(world.admin)
    queue = client.get(f"/api/invites/organizations/{world.org.pk}/requests").json()
    assert [item["id"] for item in queue] == [request_id]
    assert _post(client, f"/api/invites/requests/{request_id}/approve").json()["status"] == (
        JoinRequest.Status.APPROVED
    )
    teachers = client.get(
        f"/api/invites/organizations/{world.org.pk}/members", {"role": "teacher", "q": "новикова"}
    ).json()
    assert [member["id"] for member in teachers] == [newcomer.pk]
    removed = client.delete(f"/api/invites/organizations/{world.org.pk}/members/{newcomer.pk}")
    assert removed.status_code == 204
    actions = [
        e["action"] for e in client.get(f"/api/invites/organizations/{world.org.pk}/audit").json()
    ]
    assert actions[:2] == ["member.removed", "role.revoked"]


def test_api_structure(client, world):
    client.force_login(world.admin)
    bad = client.patch(
        f"/api/structure/organizations/{world.org.pk}/profile",
        json.dumps({"inn": "1234567890"}),
        content_type="application/json",
    )
    assert bad.status_code == 400 and "ИНН" in bad.json()["detail"]
    bulk = _post(
        client,
        f"/api/structure/organizations/{world.org.pk}/classes/bulk",
        {"plan": "7А–7Б, 5А", "academic_year": None},
    )
    assert bulk.status_code == 201
    assert [c["name"] for c in bulk.json()["created"]] == ["7А", "7Б"]
    assert bulk.json()["existing"] == ["5А"]
    client.force_login(world.teacher)
    assert client.get(f"/api/structure/organizations/{world.org.pk}/classes").status_code == 403


def test_class_teacher_link_via_api_only_for_own_class(client, world):
    client.force_login(world.teacher_5a)
    url = f"/api/invites/organizations/{world.org.pk}/links"
    own = _post(client, url, {"role": "student", "school_class_id": world.class_5a.pk})
    other = _post(client, url, {"role": "student", "school_class_id": world.class_6a.pk})
    assert (own.status_code, other.status_code) == (201, 403)
    make_link(world, "teacher")
    assert len(client.get(url).json()) == 1
