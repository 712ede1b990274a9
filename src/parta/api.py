"""The root JSON API (django-ninja); each app mounts its router here. Schema: /api/openapi.json."""

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Swagger
from ninja.errors import HttpError
from ninja.security import SessionAuth

from parta.api_errors import BadBody, TextParser

api = NinjaAPI(
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
    return api.create_response(request, {"detail": str(shown)}, status=exc.status_code)


def _mount() -> None:
    from parta.accounts.api import router as accounts_router
    from parta.calls.api import router as calls_router
    from parta.invites.api import router as invites_router
    from parta.messaging.api import router as messaging_router
    from parta.monitoring.api import router as monitoring_router
    from parta.realtime.api import router as realtime_router
    from parta.structure.api import router as structure_router
    from parta.support.api import router as support_router

    api.add_router("/accounts", accounts_router)
    api.add_router("/calls", calls_router)
    api.add_router("/invites", invites_router)
    api.add_router("/messaging", messaging_router)
    api.add_router("/monitoring", monitoring_router)
    api.add_router("/realtime", realtime_router)
    api.add_router("/structure", structure_router)
    api.add_router("/support", support_router)


_mount()
