"""Schemathesis over /api/openapi.json, signed in as a teacher and as an admin of school A:
no answer is a 5xx, and every answer matches the schema (status, content type, body).

Bounded and deterministic for CI: a few examples per operation, a fixed seed, no deadline.
Half the generated path ids are replaced by the world's ids of the same name, so requests
reach real chats, calls and requests as well as ids that do not exist. Every failure found
here is kept as a plain test in test_found_by_schemathesis.py.
"""

import secrets
import tempfile
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings, strategies
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis import checks
from schemathesis.openapi.checks import UndefinedStatusCode

from tests.security.conftest import World


def app(environ: dict[str, Any], start_response: Any) -> Any:
    """Django's WSGI app as the test client runs it: a request does not close the database
    connection, which holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    try:
        return WSGIHandler()(environ, start_response)
    finally:
        request_started.connect(close_old_connections)


# Hypothesis keeps a cache of constants; not in the working tree.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="parta-hypothesis-"))
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
schema.config.seed = 20261201
# Requests as the schema documents them: each must get a documented answer.
schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE], no_shrink=True)

# The world of the running module, for the path-id hook below.
_world: dict[str, World] = {}


def world_ids(w: World) -> dict[str, int | str]:
    return {
        "organization_id": w.school.pk,
        "conversation_id": w.class_chat.pk,
        "message_id": w.teacher_message.pk,
        "call_id": w.call_id,
        "link_id": w.invite_id,
        "request_id": w.join_request_id,
        "document_id": w.document_id,
        "class_id": w.class_5a.pk,
        "person_id": w.people["student"].pk,
        "role": "student",
    }


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    """Either the generated ids or the world's (where it has one of that name)."""
    if not _world or not path_parameters:
        return strategies.just(path_parameters)
    known = world_ids(_world["w"])
    real = {name: known.get(name, value) for name, value in path_parameters.items()}
    return strategies.sampled_from([path_parameters, real])


# Refusals are the authorization matrix's business; that most operations leave their 403
# and 404 out of the schema is kept in test_found_by_schemathesis.py, not repeated here for
# each operation.
REFUSED = {401, 403, 404}


def _file_lost_in_transport(case: Any, response: Any) -> bool:
    """The WSGI transport sends a generated empty file so that Django does not see it (422
    «file: Field required»); the same bytes through Django's test client get the documented
    400 «Файл пустой», so this is not the API's answer."""
    return (
        response.status_code == 422
        and case.media_type == "multipart/form-data"
        and b'"missing", "loc": ["file"' in response.content
    )


@schema.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    if not isinstance(failure, UndefinedStatusCode):
        return True
    return response.status_code not in REFUSED and not _file_lost_in_transport(case, response)


@pytest.fixture(params=["teacher", "admin"])
def signed_in(request, world, db) -> dict[str, Any]:
    """Cookies and CSRF header of a signed-in session: unsafe calls need both."""
    _world["w"] = world
    token = secrets.token_hex(16)
    return {
        "cookies": {
            django_settings.SESSION_COOKIE_NAME: world.sessions[request.param],
            django_settings.CSRF_COOKIE_NAME: token,
        },
        "headers": {"X-CSRFToken": token},
    }


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api(case, signed_in):
    case.call_and_validate(**signed_in, checks=CHECKS)
