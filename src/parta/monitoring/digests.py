"""The weekly digest: on Monday morning in each region's zone, every school's admins get
last week's indicators, the change from the week before and the activation steps still
open, by email and as a notice in Parta.

Numbers come from `engine.weekly_report`, steps from `checklist.activation_checklist`;
no text written in a chat ever goes into a digest, only counts. `due_digests` decides
what is due at a moment and sends nothing, so the schedule is testable in any zone.
"""

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode

from parta.accounts.models import Person, Role
from parta.accounts.selectors import role_grants_held_at
from parta.links import absolute_url
from parta.messaging.services import post_personal_notice
from parta.monitoring.checklist import Step, activation_checklist
from parta.monitoring.engine import weekly_report
from parta.monitoring.indicators import ACTIVE, Indicator, Kind, of_kind
from parta.monitoring.models import DigestDelivery
from parta.monitoring.scopes import Scope
from parta.monitoring.weeks import Week, last_closed_week
from parta.structure.models import Organization, Region

log = logging.getLogger(__name__)

# The notice in Parta, shorter than the email, carries the teachers and the letter's
# indicators; the email adds what the school did in the week, then who is in it.
NOTICE_KINDS = (Kind.TEACHERS, Kind.TEACHER_SHARE)
DIGEST_INDICATORS = of_kind(*NOTICE_KINDS, Kind.ACTIVITY, Kind.MEMBERS)


@dataclass(frozen=True)
class DueDigest:
    organization: Organization
    week: Week


@dataclass(frozen=True)
class IndicatorChange:
    indicator: Indicator
    value: int
    previous: int
    pct: float | None  # share of teachers, for the letter's indicators 2–6

    @property
    def key(self) -> str:
        return self.indicator.key

    @property
    def label(self) -> str:
        return str(self.indicator.heading)

    @property
    def change(self) -> int:
        return self.value - self.previous

    @property
    def text(self) -> str:
        """«3 → 5 (+2)»."""
        return f"{self.previous} → {self.value} ({self.change:+d})"


@dataclass(frozen=True)
class Digest:
    organization: Organization
    week: Week
    active: bool
    was_active: bool
    indicators: list[IndicatorChange]
    open_steps: list[Step]  # with absolute URLs
    dashboard_url: str

    @property
    def previous_week(self) -> Week:
        return self.week.previous()

    @property
    def active_label(self) -> str:
        return str(ACTIVE.heading)

    @property
    def notice_indicators(self) -> list[IndicatorChange]:
        """The teachers and the letter's indicators, without the context counts."""
        return [item for item in self.indicators if item.indicator.kind in NOTICE_KINDS]

    @property
    def subject(self) -> str:
        return f"Парта: показатели {self.organization} за неделю {self.week}"


@dataclass
class DigestRun:
    """What one run did: schools due, digests sent now, and those another run had sent."""

    schools: int = 0
    sent: int = 0
    already_sent: int = 0
    emailed: int = 0
    email_failures: int = 0
    planned: list[tuple[Organization, Person, Week]] = field(default_factory=list)


def digest_week(now: datetime, zone: ZoneInfo, from_hour: int) -> Week | None:
    """The week whose digest is due in `zone` at `now`: the week just closed, from `from_hour`
    on Monday (local time) until Monday ends, so a missed morning is caught up that day."""
    local = now.astimezone(zone)
    if local.weekday() != 0 or local.hour < from_hour:
        return None
    return last_closed_week(now, [zone])


def digest_recipients(organization: Organization, now: datetime) -> list[Person]:
    """The school's admins at `now` (the head among them, as the letter has it)."""
    ids = role_grants_held_at([organization.pk], [Role.ADMIN], now).values("person_id")
    return list(Person.objects.filter(pk__in=ids, is_active=True).order_by("pk"))


def due_digests(now: datetime) -> list[DueDigest]:
    """Schools whose region is on Monday morning (or later that Monday) and that have an
    admin still without last week's digest."""
    due: list[DueDigest] = []
    for region in Region.objects.order_by("pk"):
        week = digest_week(now, region.zone, settings.PARTA_DIGEST_HOUR)
        if week is None:
            continue
        schools = list(
            Organization.objects.filter(district__region=region, kind=Organization.Kind.SCHOOL)
            .select_related("district__region")
            .order_by("full_name", "pk")
        )
        admins: dict[int, set[int]] = {}
        for org_id, person_id in role_grants_held_at(
            [school.pk for school in schools], [Role.ADMIN], now
        ).values_list("organization_id", "person_id"):
            admins.setdefault(org_id, set()).add(person_id)
        delivered: dict[int, set[int]] = {}
        for org_id, person_id in DigestDelivery.objects.filter(
            organization__in=schools, week=str(week)
        ).values_list("organization_id", "recipient_id"):
            delivered.setdefault(org_id, set()).add(person_id)
        due.extend(
            DueDigest(school, week)
            for school in schools
            if admins.get(school.pk, set()) - delivered.get(school.pk, set())
        )
    return due


def build_digest(organization: Organization, week: Week, now: datetime) -> Digest:
    scope = Scope("organization", organization=organization)
    (row,) = weekly_report(scope, week).organizations
    (before,) = weekly_report(scope, week.previous()).organizations
    indicators = [
        IndicatorChange(
            indicator=indicator,
            value=row[indicator.key],
            previous=before[indicator.key],
            pct=row[indicator.pct_key] if indicator.has_share else None,
        )
        for indicator in DIGEST_INDICATORS
    ]
    steps = [
        replace(step, url=absolute_url(step.url))
        for step in activation_checklist(organization, now)
        if not step.done
    ]
    # The database id: external ids may hold characters the URL pattern does not take.
    dashboard = reverse(
        "monitoring:dashboard", kwargs={"level": "organization", "ref": str(organization.pk)}
    )
    return Digest(
        organization=organization,
        week=week,
        active=row["active"],
        was_active=before["active"],
        indicators=indicators,
        open_steps=steps,
        dashboard_url=absolute_url(f"{dashboard}?{urlencode({'week': str(week)})}"),
    )


def _render(digest: Digest, recipient: Person, template: str) -> str:
    context: dict[str, Any] = {"digest": digest, "recipient": recipient}
    return render_to_string(f"monitoring/{template}", context)


def deliver_digest(digest: Digest, recipient: Person, now: datetime) -> DigestDelivery | None:
    """Send one digest once: the delivery row and the Parta notice commit together, then the
    email goes out. None when another run has already claimed this digest."""
    with translation.override("ru"):
        notice = " ".join(_render(digest, recipient, "digest_notice.txt").split())
        try:
            with transaction.atomic():
                delivery = DigestDelivery.objects.create(
                    organization=digest.organization,
                    recipient=recipient,
                    week=str(digest.week),
                    created_at=now,
                )
                delivery.message = post_personal_notice(
                    recipient, digest.organization, notice, at=now
                )
                delivery.save(update_fields=["message"])
        except IntegrityError:
            return None
        if recipient.email:
            _email(digest, recipient, delivery, now)
    return delivery


def _email(digest: Digest, recipient: Person, delivery: DigestDelivery, now: datetime) -> None:
    mail = EmailMultiAlternatives(
        subject=digest.subject,
        body=_render(digest, recipient, "digest.txt"),
        to=[recipient.email],
    )
    mail.attach_alternative(_render(digest, recipient, "digest.html"), "text/html")
    try:
        mail.send()
    except Exception as exc:  # any backend's failure: recorded, the next digests still go
        log.warning(
            "digest email failed: organization=%s person=%s week=%s: %s",
            digest.organization.pk,
            recipient.pk,
            digest.week,
            type(exc).__name__,
        )
        delivery.email_error = f"{type(exc).__name__}: {exc}"[:500]
        delivery.save(update_fields=["email_error"])
        return
    delivery.emailed_to = recipient.email
    delivery.emailed_at = now
    delivery.save(update_fields=["emailed_to", "emailed_at"])


def send_due_digests(now: datetime, *, dry_run: bool = False) -> DigestRun:
    """Every digest due at `now` that no run has sent yet; safe to run again at any time."""
    run = DigestRun()
    with translation.override("ru"):
        _send(due_digests(now), now, run, dry_run=dry_run)
    return run


def _send(due: list[DueDigest], now: datetime, run: DigestRun, *, dry_run: bool) -> None:
    for item in due:
        run.schools += 1
        recipients = digest_recipients(item.organization, now)
        if dry_run:
            already = set(
                DigestDelivery.objects.filter(
                    organization=item.organization, week=str(item.week)
                ).values_list("recipient_id", flat=True)
            )
            run.planned.extend(
                (item.organization, person, item.week)
                for person in recipients
                if person.pk not in already
            )
            continue
        digest = build_digest(item.organization, item.week, now)
        for person in recipients:
            delivery = deliver_digest(digest, person, now)
            if delivery is None:
                run.already_sent += 1
                continue
            run.sent += 1
            run.emailed += delivery.emailed_at is not None
            run.email_failures += bool(delivery.email_error)
