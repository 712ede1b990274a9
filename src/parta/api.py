"""The root JSON API (django-ninja); each app mounts its router here. Schema: /api/openapi.json."""

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Swagger
from ninja.errors import HttpError
from ninja.openapi.schema import OpenAPISchema
from ninja.security import SessionAuth

from parta.api_errors import BadBody, ErrorOut, TextParser
from parta.errors import Conflict

# The refusals any operation may answer, written once here rather than on every route:
# bad text or a service's refusal (400), not signed in (401), not allowed (403), nothing
# there (404), a body too large (413), a body that does not fit its schema (422, ninja's
# own list of problems), too many tries (429).
REFUSAL_STATUSES = {
    "400": "Неверный запрос",
    "401": "Нужно войти",
    "403": "Нет прав",
    "404": "Не найдено",
    "413": "Запрос слишком большой",
    "422": "Данные не подходят под схему",
    "429": "Слишком много попыток",
}
# A refusal's code, when the error itself does not carry one.
CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "too_big",
    429: "rate_limited",
}


class PartaAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("ErrorOut", ErrorOut.model_json_schema())
        components["ValidationErrorOut"] = {
            "title": "ValidationErrorOut",
            "type": "object",
            "properties": {"detail": {"title": "Detail", "type": "array", "items": {}}},
            "required": ["detail"],
        }
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, description in REFUSAL_STATUSES.items():
                    # ninja keys its own responses by int: a str key beside one would
                    # serialise as a second "400" and hide the route's own answer.
                    if status in responses or int(status) in responses:
                        continue
                    name = "ValidationErrorOut" if status == "422" else "ErrorOut"
                    responses.setdefault(
                        int(status),
                        {
                            "description": description,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": f"#/components/schemas/{name}"}
                                }
                            },
                        },
                    )
        return schema


api = PartaAPI(
    title="Parta API",
    version="1",
    description="Организации, роли, сообщения, звонки и еженедельные показатели активности.",
    auth=SessionAuth(),
    urls_namespace="api",
    # Served from Parta's static files ("ninja" is an installed app); no badge image from
    # the public swagger.io validator, which the CSP would refuse anyway.
    docs=Swagger(settings={"validatorUrl": None}),
)

# Every JSON body passes one check before any schema sees it (lone surrogates, NUL).
api.parser = TextParser()


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja words any parser failure as «Cannot parse request body»; ours says what is wrong.
    shown = exc.__cause__ if isinstance(exc.__cause__, BadBody) else exc
    code = "bad_text" if isinstance(shown, BadBody) else CODES.get(exc.status_code, "error")
    return _refusal(request, exc.status_code, str(shown), code)


# A service's refusal, raised from anywhere in a handler, answers with the service's words:
# a handler calls the service and returns its result. The service's transaction has already
# rolled back when the exception reaches these.


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Bad input: 400 with the error's own code («invalid» when it has none); a Conflict
    with what is stored (an idempotency key reused): 409."""
    status = 409 if isinstance(exc, Conflict) else 400
    return _refusal(
        request, status, " ".join(exc.messages), getattr(exc, "code", None) or CODES[status]
    )


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _refusal(request, 403, str(exc) or "forbidden", "forbidden")


@api.exception_handler(ObjectDoesNotExist)
def _does_not_exist(request: HttpRequest, exc: ObjectDoesNotExist) -> HttpResponse:
    """A row a service looked up and did not find: the same 404 as get_object_or_404's."""
    return api.on_exception(request, Http404(str(exc)))


def _refusal(request: HttpRequest, status: int, detail: str, code: str | None) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "code": code}, status=status)


def _mount() -> None:
    from parta.accounts.api import router as accounts_router
    from parta.calls.api import router as calls_router
    from parta.invites.api import router as invites_router
    from parta.messaging.api import router as messaging_router
    from parta.monitoring.api import router as monitoring_router
    from parta.notifications.api import router as notifications_router
    from parta.realtime.api import router as realtime_router
    from parta.roster.api import router as roster_router
    from parta.schools.api import router as structure_router
    from parta.support.api import router as support_router

    api.add_router("/accounts", accounts_router)
    api.add_router("/calls", calls_router)
    api.add_router("/invites", invites_router)
    api.add_router("/messaging", messaging_router)
    api.add_router("/monitoring", monitoring_router)
    api.add_router("/notifications", notifications_router)
    api.add_router("/realtime", realtime_router)
    api.add_router("/roster", roster_router)
    api.add_router("/structure", structure_router)
    api.add_router("/support", support_router)


_mount()
