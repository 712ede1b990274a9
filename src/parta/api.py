"""The root JSON API (django-ninja); each app mounts its router here. Schema: /api/openapi.json."""

from ninja import NinjaAPI
from ninja.security import SessionAuth

api = NinjaAPI(
    title="Parta API",
    version="1",
    description="Организации, роли, сообщения, звонки и еженедельные показатели активности.",
    auth=SessionAuth(),
    urls_namespace="api",
)


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
