from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from parta.api_errors import ErrorOut
from parta.monitoring.scopes import ScopeError
from parta.monitoring.services import open_report
from parta.monitoring.weeks import WeekError

router = Router(tags=["monitoring"])


class ReportQuery(Schema):
    week: str | None = Field(
        None, description="ISO-неделя, например 2026-W48; по умолчанию последняя закрытая"
    )
    region: str | None = Field(None, description="внешний id или номер региона")
    district: str | None = Field(None, description="внешний id или номер района")
    org: str | None = Field(None, description="внешний id или номер организации")
    kinds: str | None = Field(None, description="виды через запятую: school,authority,other")


class Indicators(Schema):
    teachers: int
    teachers_with_chat: int
    teachers_3_messages: int
    teachers_10_messages: int
    teachers_1_call: int
    teachers_3_calls: int
    teachers_with_chat_pct: float | None
    teachers_3_messages_pct: float | None
    teachers_10_messages_pct: float | None
    teachers_1_call_pct: float | None
    teachers_3_calls_pct: float | None
    admins: int
    students: int
    parents: int
    chats: int
    messages: int
    calls_held: int


class OrganizationRow(Indicators):
    id: str
    name: str
    district: str
    region: str
    active: bool


class TotalRow(Indicators):
    organizations: int
    active_organizations: int


class WeeklyReportOut(Schema):
    week: str
    organizations: list[OrganizationRow]
    total: TotalRow


@router.get(
    "/report",
    response={200: WeeklyReportOut, 400: ErrorOut, 403: ErrorOut},
    summary="Еженедельные показатели активности",
    description=(
        "Показатели письма по организациям и итог за неделю. Без указания охвата — "
        "самый широкий доступный вам: оператор видит всё, сотрудники органа управления "
        "образованием — свой район, администраторы и учителя школы — свою школу."
    ),
)
def weekly_report(request: HttpRequest, query: Query[ReportQuery]) -> Status[object]:
    try:
        report = open_report(
            request.user,  # type: ignore[arg-type]
            channel="api",
            week=query.week,
            region=query.region,
            district=query.district,
            org=query.org,
            kinds=query.kinds,
        )
    except (ScopeError, WeekError) as exc:
        return Status(400, {"detail": str(exc)})
    except PermissionError as exc:
        return Status(403, {"detail": str(exc)})
    return Status(200, report.as_dict())
