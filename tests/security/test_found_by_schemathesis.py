"""What Schemathesis found, kept as plain requests: each answer must be one the OpenAPI
schema documents for the operation, carrying the fields the schema says it carries."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from parta.api import api
from tests.security.conftest import World

# As /api/openapi.json serves it (status keys are strings there).
SCHEMA = json.loads(json.dumps(api.get_openapi_schema()))


@dataclass(frozen=True)
class Found:
    actor: str
    method: str
    operation: str  # the documented path
    path: Callable[[World], str]
    status: int  # what the server answers (the finding is that it is not documented)
    body: Callable[[World], dict[str, Any]] | None = None
    multipart: bool = False

    def __str__(self) -> str:
        return f"{self.method} {self.operation} → {self.status} × {self.actor}"


def documented_fields(operation: str, method: str, status: int) -> set[str] | None:
    """The required fields of the documented JSON answer; None when the operation does not
    document the status at all."""
    responses = SCHEMA["paths"][operation][method.lower()]["responses"]
    if str(status) not in responses:
        return None
    content = responses[str(status)].get("content", {}).get("application/json")
    if not content:
        return set()
    schema = content["schema"]
    if "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return set(schema.get("required", []))


FOUND = [
    # A NUL is refused with {"detail"} alone; the sign-in's 400 is documented with a code.
    Found(
        "teacher",
        "POST",
        "/api/accounts/sign-in/request-code",
        lambda w: "/api/accounts/sign-in/request-code",
        400,
        body=lambda w: {"phone": "\u0000"},
    ),
    # The same refusal where no 400 is documented at all.
    Found(
        "anonymous",
        "POST",
        "/api/invites/preview",
        lambda w: "/api/invites/preview",
        400,
        body=lambda w: {"token": "\u0000"},
    ),
    Found(
        "admin",
        "POST",
        "/api/support/organizations/{organization_id}/admin-change-requests",
        lambda w: f"/api/support/organizations/{w.school.pk}/admin-change-requests",
        400,
        body=lambda w: {"full_name": "\u0000", "phone": "+79137770001"},
        multipart=True,
    ),
    # A service's refusal (api_errors.refusal) answers 400/403 the schema does not list.
    Found(
        "admin",
        "POST",
        "/api/invites/organizations/{organization_id}/links",
        lambda w: f"/api/invites/organizations/{w.school.pk}/links",
        400,
        body=lambda w: {"role": ""},
    ),
    Found(
        "admin",
        "POST",
        "/api/invites/requests/{request_id}/reject",
        lambda w: f"/api/invites/requests/{w.join_request_id}/reject",
        400,
        body=lambda w: {"reason": ""},
    ),
    Found(
        "admin",
        "PUT",
        "/api/structure/classes/{class_id}",
        lambda w: f"/api/structure/classes/{w.class_5a.pk}",
        400,
        body=lambda w: {"name": "5А", "class_teacher_id": w.people["student"].pk},
    ),
    Found(
        "admin",
        "POST",
        "/api/structure/classes/{class_id}/students",
        lambda w: f"/api/structure/classes/{w.class_6a.pk}/students",
        400,
        body=lambda w: {"student_id": w.people["admin"].pk},
    ),
    Found(
        "teacher",
        "GET",
        "/api/support/desk/queue",
        lambda w: "/api/support/desk/queue",
        403,
    ),
    Found(
        "teacher",
        "POST",
        "/api/invites/links/{link_id}/revoke",
        lambda w: "/api/invites/links/999999999/revoke",
        404,
    ),
]


@pytest.mark.parametrize("found", FOUND, ids=str)
def test_the_answer_is_documented(world, db, client: Client, found: Found):
    if found.actor != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[found.actor]
    body = found.body(world) if found.body else None
    path = found.path(world)
    if found.multipart:
        response = client.post(path, body or {})
    else:
        response = client.generic(
            found.method,
            path,
            data=json.dumps(body) if body is not None else "",
            content_type="application/json",
        )
    assert response.status_code == found.status, response.content[:300]
    fields = documented_fields(found.operation, found.method, found.status)
    assert fields is not None, f"{found.status} is not documented for {found}"
    assert fields <= set(response.json()), (
        f"{response.json()} lacks {fields - set(response.json())}"
    )


def test_the_served_schema_has_each_answer_once_and_keeps_each_route_s_own(client):
    def no_duplicates(pairs):
        keys = [key for key, _value in pairs]
        assert len(keys) == len(set(keys)), keys
        return dict(pairs)

    served = json.loads(client.get("/api/openapi.json").content, object_pairs_hook=no_duplicates)
    sign_in = served["paths"]["/api/accounts/sign-in/request-code"]["post"]["responses"]
    refusal = sign_in["400"]["content"]["application/json"]["schema"]["$ref"]
    assert refusal.endswith("/SignInErrorOut")
    assert "422" in sign_in and "403" in sign_in
