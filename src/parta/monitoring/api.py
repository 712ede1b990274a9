from collections.abc import Iterable
from types import GenericAlias
from typing import Any

from django.http import HttpRequest
from django.utils import translation
from ninja import Field, Query, Router, Schema, Status
from pydantic import create_model

from parta.api_errors import ErrorOut
from parta.monitoring.indicators import COUNTED, INDICATORS, Indicator, Kind
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


def _indicator_fields(indicators: Iterable[Indicator]) -> dict[str, Any]:
    """Each indicator as a field described by its label, its share of the teachers after it."""
    fields: dict[str, Any] = {}
    with translation.override("ru"):
        for each in indicators:
            kind = bool if each.kind is Kind.FLAG else int
            fields[each.key] = (kind, Field(description=str(each.heading)))
            if each.has_share:
                fields[each.pct_key] = (float | None, Field(description=str(each.pct_heading)))
    return fields


# Built from the registry, so the schema names every key a report row carries and no other.
OrganizationRow = create_model(
    "OrganizationRow",
    __base__=Schema,
    id=(str, ...),
    name=(str, ...),
    district=(str, ...),
    region=(str, ...),
    **_indicator_fields(INDICATORS),
)
TotalRow = create_model(
    "TotalRow",
    __base__=Schema,
    organizations=(int, ...),
    active_organizations=(int, ...),
    **_indicator_fields(COUNTED),
)
# list[OrganizationRow], spelled so that mypy takes a class made at run time.
_ROWS: Any = GenericAlias(list, (OrganizationRow,))
WeeklyReportOut = create_model(
    "WeeklyReportOut",
    __base__=Schema,
    week=(str, ...),
    organizations=(_ROWS, ...),
    total=(TotalRow, ...),
)


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
