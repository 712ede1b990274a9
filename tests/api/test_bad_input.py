"""Bad input gets a clear 4xx with a message and stores nothing, never a 500 — across the API.

Text that is not Unicode (a lone surrogate, NUL), a body over the size limit, ids out of the
database's range and overlong lists, a reused idempotency key; and an OpenAPI schema whose
component names are unique, so each endpoint is documented with the body it really takes.
"""

import ast
import inspect
import json
import textwrap
import typing

import pydantic
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from ninja.utils import normalize_path

from parta.api import api
from parta.invites.models import InviteLink
from parta.messaging.models import Attachment, Conversation, Message
from parta.messaging.services import MAX_ATTACHMENTS, create_conversation
from parta.structure.models import SchoolClass
from tests.messaging.files import PDF

pytestmark = pytest.mark.django_db
MESSAGING = "/api/messaging"
TOO_BIG = 2**63  # one more than the largest id a database row can have


def client_for(person) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(person)
    return client


def post_raw(client: Client, url: str, raw: str) -> typing.Any:
    """A JSON body as written: json.dumps could not even encode some of these."""
    return client.post(url, raw, content_type="application/json")


def post(client: Client, url: str, body: object) -> typing.Any:
    return post_raw(client, url, json.dumps(body))


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def other_chat(s):
    return create_conversation(
        s.teacher, s.org, title="Учителя", purpose=Conversation.Purpose.STAFF, members=[s.colleague]
    )


def messages_url(conversation) -> str:
    return f"{MESSAGING}/conversations/{conversation.pk}/messages"


# --- text that is not Unicode ------------------------------------------------------------

SURROGATE = "одиночный суррогат"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"text": "\\ud800"}', SURROGATE),
        ('{"text": "привет \\udfff"}', SURROGATE),
        ('{"text": "x", "idempotency_key": "\\ud83d"}', SURROGATE),
        ('{"text": "x", "\\ud800": 1}', SURROGATE),
        ('{"text": "a\\u0000b"}', "NUL"),
        ('{"text": ', "не JSON"),
    ],
)
def test_a_send_with_text_that_is_not_unicode_is_refused_with_400(s, chat, raw, message):
    response = post_raw(client_for(s.teacher), messages_url(chat), raw)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Message.objects.filter(conversation=chat).exists()


def test_a_pair_of_surrogates_is_one_emoji_and_is_sent(s, chat):
    response = post_raw(client_for(s.teacher), messages_url(chat), '{"text": "\\ud83d\\ude00"}')
    assert response.status_code == 201
    assert Message.objects.get(conversation=chat).text == "😀"


def test_a_chat_titled_with_a_lone_surrogate_is_not_created(s):
    raw = f'{{"organization_id": {s.org.pk}, "title": "5\\ud800А", "purpose": "other"}}'
    response = post_raw(client_for(s.teacher), f"{MESSAGING}/conversations", raw)
    assert response.status_code == 400
    assert SURROGATE in response.json()["detail"]
    assert not Conversation.objects.exists()


def test_nul_in_a_query_is_refused(s):
    response = client_for(s.admin).get(f"/api/invites/organizations/{s.org.pk}/members?q=a%00")
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


def _json_operations() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return [
        (method, path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


def test_every_json_body_of_the_api_refuses_a_lone_surrogate(s):
    """One parser for the whole API: no endpoint reaches a schema, a service or the database."""
    client = client_for(s.teacher)
    operations = _json_operations()
    assert len(operations) > 25
    for method, path in operations:
        url = path.replace("{", "").replace("}", "")  # ids: any text; the body is read first
        url = "/".join("1" if part.endswith("_id") else part for part in url.split("/"))
        response = getattr(client, method)(
            url, '{"title": "\\ud800", "text": "\\ud800"}', content_type="application/json"
        )
        assert response.status_code == 400, (method, path, response.content)
        assert SURROGATE in response.json()["detail"], (method, path)


def test_the_chat_page_stores_undecodable_bytes_as_replacement_characters(s, chat):
    """A form cannot carry a lone surrogate: Django decodes bytes with U+FFFD, never a 500."""
    response = client_for(s.teacher).post(
        f"/messages/{chat.pk}/",
        b"text=%ED%A0%80&idempotency_key=k1",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 302
    assert set(Message.objects.get(conversation=chat).text) == {"\ufffd"}


# --- a body over the limit ----------------------------------------------------------------


@pytest.fixture
def small_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048


@pytest.mark.parametrize("debug", [False, True])
def test_an_api_body_over_the_limit_answers_a_json_413(s, chat, small_limit, settings, debug):
    settings.DEBUG = debug  # under DEBUG Django would show a traceback page
    response = post(client_for(s.teacher), messages_url(chat), {"text": "ы" * 2000})
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "Запрос слишком большой: не больше 2 КБ.",
        "code": "too_big",
    }
    assert not Message.objects.exists()


def test_a_page_form_over_the_limit_answers_a_413_page(s, chat, small_limit):
    response = client_for(s.teacher).post(f"/messages/{chat.pk}/", {"text": "ы" * 2000})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Слишком большой запрос" in page
    assert "не больше 2 КБ" in page
    assert not Message.objects.exists()


def test_a_file_bigger_than_the_body_limit_still_uploads(s, chat, small_limit):
    """The limit is for text: uploaded files' bytes do not count (they have their own)."""
    pdf = PDF + b"%" * 5000
    response = client_for(s.teacher).post(
        f"{MESSAGING}/conversations/{chat.pk}/attachments",
        {"file": SimpleUploadedFile("plan.pdf", pdf, content_type="application/pdf")},
    )
    assert response.status_code == 201, response.content
    assert Attachment.objects.get().size == len(pdf)


# --- ids out of range and lists too long --------------------------------------------------


def _refused_field(response) -> list[object]:
    assert response.status_code == 422, response.content
    return [error["loc"] for error in response.json()["detail"]]


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ({"text": "x", "attachment_ids": [TOO_BIG]}, ["attachment_ids", 0], "less than or equal"),
        ({"text": "x", "attachment_ids": [-1]}, ["attachment_ids", 0], "greater than or equal"),
        ({"text": "x", "attachment_ids": [0]}, ["attachment_ids", 0], "greater than or equal"),
        ({"text": "x", "reply_to": TOO_BIG}, ["reply_to"], "less than or equal"),
        (
            {"text": "x", "attachment_ids": list(range(1, MAX_ATTACHMENTS + 2))},
            ["attachment_ids"],
            "at most 10 items, not 11",
        ),
        # Refused by its length before any item is looked at: one error, not 50,000.
        (
            {"text": "x", "attachment_ids": [TOO_BIG] * 50_000},
            ["attachment_ids"],
            "at most 10 items, not 50000",
        ),
    ],
)
def test_ids_out_of_range_and_long_lists_in_a_send_answer_422(s, chat, body, where, message):
    response = post(client_for(s.teacher), messages_url(chat), body)
    assert _refused_field(response) == [["body", "payload", *where]]
    assert message in response.json()["detail"][0]["msg"]
    assert not Message.objects.exists()


@pytest.mark.parametrize("conversation_id", ["99999999999999999999", str(TOO_BIG), "-1", "0"])
def test_a_path_id_out_of_range_answers_422(s, chat, conversation_id):
    client = client_for(s.teacher)
    response = client.get(f"{MESSAGING}/conversations/{conversation_id}")
    assert _refused_field(response) == [["path", "conversation_id"]]
    response = post(client, f"{MESSAGING}/conversations/{conversation_id}/messages", {"text": "x"})
    assert _refused_field(response) == [["path", "conversation_id"]]
    assert not Message.objects.exists()


def test_a_chat_with_members_out_of_range_or_too_many_is_not_created(s):
    client = client_for(s.teacher)
    chat = {"organization_id": s.org.pk, "title": "Кружок", "purpose": "other"}
    response = post(client, f"{MESSAGING}/conversations", {**chat, "member_ids": [TOO_BIG]})
    assert _refused_field(response) == [["body", "payload", "member_ids", 0]]
    many = list(range(1, 1002))
    response = post(client, f"{MESSAGING}/conversations", {**chat, "member_ids": many})
    assert _refused_field(response) == [["body", "payload", "member_ids"]]
    response = post(client, f"{MESSAGING}/conversations", {**chat, "organization_id": TOO_BIG})
    assert _refused_field(response) == [["body", "payload", "organization_id"]]
    assert not Conversation.objects.exists()


def test_counts_beyond_their_column_answer_422_and_store_nothing(s):
    admin = client_for(s.admin)
    links = f"/api/invites/organizations/{s.org.pk}/links"
    response = post(admin, links, {"role": "teacher", "max_uses": TOO_BIG})
    assert _refused_field(response) == [["body", "payload", "max_uses"]]
    assert not InviteLink.objects.exists()
    before = SchoolClass.objects.count()
    for year in (-1, TOO_BIG):
        response = post(
            admin,
            f"/api/structure/organizations/{s.org.pk}/classes/bulk",
            {"plan": "1А–1Б", "academic_year": year},
        )
        assert _refused_field(response) == [["body", "payload", "academic_year"]]
    assert SchoolClass.objects.count() == before


# --- an idempotency key reused ------------------------------------------------------------


def test_the_same_key_with_the_same_body_returns_the_first_message(s, chat):
    client = client_for(s.teacher)
    upload = client.post(
        f"{MESSAGING}/conversations/{chat.pk}/attachments",
        {"file": SimpleUploadedFile("plan.pdf", PDF, content_type="application/pdf")},
    ).json()
    body = {"text": "план", "idempotency_key": "k-1", "attachment_ids": [upload["id"]]}
    first = post(client, messages_url(chat), body)
    again = post(client, messages_url(chat), body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    "changed",
    [{"text": "другой текст"}, {"attachment_ids": []}, {"reply_to": "first"}],
)
def test_the_same_key_for_a_different_message_answers_409(s, chat, changed):
    client = client_for(s.teacher)
    upload = client.post(
        f"{MESSAGING}/conversations/{chat.pk}/attachments",
        {"file": SimpleUploadedFile("plan.pdf", PDF, content_type="application/pdf")},
    ).json()
    earlier = post(client, messages_url(chat), {"text": "раньше"}).json()
    body = {"text": "план", "idempotency_key": "k-1", "attachment_ids": [upload["id"]]}
    first = post(client, messages_url(chat), body)
    assert first.status_code == 201
    if changed.get("reply_to") == "first":
        changed = {"reply_to": earlier["id"]}
    response = post(client, messages_url(chat), {**body, **changed})
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Ключ повтора уже использован для другого сообщения.",
        "code": "idempotency_conflict",
    }
    assert Message.objects.count() == 2
    assert Message.objects.get(idempotency_key="k-1").text == "план"


def test_the_same_key_in_another_conversation_answers_409(s, chat, other_chat):
    client = client_for(s.teacher)
    assert (
        post(client, messages_url(chat), {"text": "5А", "idempotency_key": "k-2"}).status_code
        == 201
    )
    response = post(client, messages_url(other_chat), {"text": "5А", "idempotency_key": "k-2"})
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Ключ повтора уже использован для сообщения в другой беседе.",
        "code": "idempotency_conflict",
    }
    assert not Message.objects.filter(conversation=other_chat).exists()


def test_the_chat_page_refuses_a_reused_key_with_the_same_words(s, chat):
    client = client_for(s.teacher)
    client.post(f"/messages/{chat.pk}/", {"text": "раз", "idempotency_key": "k-3"})
    response = client.post(
        f"/messages/{chat.pk}/", {"text": "два", "idempotency_key": "k-3"}, follow=True
    )
    assert "Ключ повтора уже использован для другого сообщения." in response.content.decode()
    assert list(Message.objects.values_list("text", flat=True)) == ["раз"]


# --- the OpenAPI schema -------------------------------------------------------------------


def _operations() -> list[tuple[str, str, typing.Any]]:
    """(method, path, ninja operation) for every endpoint, as the schema generator walks them."""
    found: list[tuple[str, str, typing.Any]] = []
    for bound in api._get_bound_routers():
        for path, view in bound.path_operations.items():
            full = normalize_path("/api/" + "/".join(part for part in (bound.prefix, path) if part))
            for operation in view.operations:
                found.extend((method.lower(), full, operation) for method in operation.methods)
    return found


def _models_in(annotation: object) -> typing.Iterator[type[pydantic.BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models_in(field.annotation)
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def test_no_two_schemas_share_a_component_name():
    by_name: dict[str, set[str]] = {}
    for _method, _path, operation in _operations():
        models = [*operation.models, *operation.response_models.values()]
        for model in models:
            for found in _models_in(model):
                if found.__name__ != "NinjaResponseSchema" and found not in operation.models:
                    by_name.setdefault(found.__name__, set()).add(
                        f"{found.__module__}.{found.__qualname__}"
                    )
    shared = {name: places for name, places in by_name.items() if len(places) > 1}
    assert shared == {}


def test_each_json_body_is_documented_with_the_schema_its_handler_takes():
    schema = api.get_openapi_schema()
    paths, components = schema["paths"], schema["components"]["schemas"]
    checked = 0
    for method, path, operation in _operations():
        body = paths[path][method].get("requestBody", {}).get("content", {})
        if "application/json" not in body:
            continue
        ref = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        taken = inspect.signature(operation.view_func).parameters["payload"].annotation
        assert ref == taken.__name__, (method, path)
        # The documented fields are the handler's: a client writing to the schema is understood.
        assert set(components[ref]["properties"]) == set(taken.model_fields), (method, path)
        checked += 1
    assert checked == len(_json_operations())
    join = paths["/api/invites/organizations/{organization_id}/requests"]["post"]
    assert join["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/JoinRequestIn"
    )


def _answered_statuses(handler: typing.Callable[..., object]) -> set[int]:
    """Status codes a handler returns: each Status(<code>, ...) in its body. (A refusal is
    raised and answered by parta.api's exception handlers, outside the response map.)"""
    tree = ast.parse(textwrap.dedent(inspect.getsource(handler)))
    codes: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        if node.func.id == "Status" and isinstance(node.args[0], ast.Constant):
            assert isinstance(node.args[0].value, int)
            codes.add(node.args[0].value)
        elif node.func.id == "Status" and isinstance(node.args[0], ast.IfExp):
            codes |= {node.args[0].body.value, node.args[0].orelse.value}  # type: ignore[attr-defined]
    return codes


def test_every_status_a_handler_answers_with_is_documented():
    """ninja refuses to send (a 500) a status its response map does not name."""
    undocumented = {}
    for method, path, operation in _operations():
        declared = set(operation.response_models)
        missing = _answered_statuses(operation.view_func) - declared
        if missing:
            undocumented[f"{method} {path}"] = missing
    assert undocumented == {}
    send = next(
        o for m, p, o in _operations() if m == "post" and p.endswith("{conversation_id}/messages")
    )
    assert {200, 201, 409} <= set(send.response_models)
