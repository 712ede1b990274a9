"""Pages for personal invitations: each class's (and the staff's) who joined and who did not,
their slips to print, their SMS, a new code for a lost slip.

Admins see every class and the staff; a class teacher her own classes. A class's SMS are
sent on the job queue, one person's in the request.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from parta.invites import invitation_status as status
from parta.invites.delivery import SmsReport, reissue_invitation
from parta.invites.delivery import send_invitation_sms as send_now
from parta.invites.jobs import send_invitations_sms
from parta.invites.models import PersonalInvitation
from parta.invites.slips import group_slips_response
from parta.structure.models import Organization, SchoolClass
from parta.web.auth import signed_in


def _organization(organization_id: int) -> Organization:
    return get_object_or_404(
        Organization.objects.select_related("district__region"), pk=organization_id
    )


def _group(
    request: HttpRequest, organization_id: int, class_id: int | None
) -> tuple[Organization, SchoolClass | None]:
    """The organization and the class (None: the staff) the caller may follow; 404, 403."""
    organization = _organization(organization_id)
    school_class = None
    if class_id is not None:
        school_class = get_object_or_404(
            SchoolClass, pk=class_id, organization=organization, is_staff_class=False
        )
    status.require_group(signed_in(request), organization, school_class)
    return organization, school_class


def _group_url(name: str, organization_id: int, class_id: int | None) -> str:
    if class_id is None:
        return reverse(f"invites:invitations-staff{name}", args=[organization_id])
    return reverse(f"invites:invitations-class{name}", args=[organization_id, class_id])


@login_required
def invitations(request: HttpRequest, organization_id: int) -> HttpResponse:
    organization = _organization(organization_id)
    classes, admin = status.classes_visible_to(signed_in(request), organization, timezone.now())
    return render(
        request,
        "invites/invitations_overview.html",
        {
            "organization": organization,
            "is_admin": admin,
            "groups": status.counts(organization, classes, staff=admin),
        },
    )


@login_required
def group(request: HttpRequest, organization_id: int, class_id: int | None = None) -> HttpResponse:
    organization, school_class = _group(request, organization_id, class_id)
    now = timezone.now()
    families = status.group_families(organization, school_class, now)
    rows = [row for family in families for row in family.rows]
    return render(
        request,
        "invites/invitations_group.html",
        {
            "organization": organization,
            "school_class": school_class,
            "is_admin": status.is_admin(signed_in(request), organization, now),
            "families": families,
            "zone": organization.district.region.zone,
            "invited": len(rows),
            "joined": sum(1 for row in rows if row.joined),
            "printable": len(status.deliverable(families)),
            "to_text": len(status.to_text(families, now)),
            "unreadable": sum(1 for row in rows if row.unreadable and not row.joined),
            "slips_url": _group_url("-slips", organization.pk, class_id),
            "sms_url": _group_url("-sms", organization.pk, class_id),
        },
    )


@require_GET
@login_required
def slips(request: HttpRequest, organization_id: int, class_id: int | None = None) -> HttpResponse:
    organization, school_class = _group(request, organization_id, class_id)
    return group_slips_response(organization, school_class)


@require_POST
@login_required
def group_sms(
    request: HttpRequest, organization_id: int, class_id: int | None = None
) -> HttpResponse:
    organization, school_class = _group(request, organization_id, class_id)
    families = status.group_families(organization, school_class, timezone.now())
    queued = [invitation.pk for invitation in status.to_text(families, timezone.now())]
    if queued:
        send_invitations_sms(queued, signed_in(request).pk)
        messages.success(
            request,
            ngettext(
                "Отправляем %(count)d СМС. Состояние появится на этой странице.",
                "Отправляем %(count)d СМС. Состояние появится на этой странице.",
                len(queued),
            )
            % {"count": len(queued)},
        )
    else:
        messages.info(
            request,
            _("Отправлять некому: все, у кого есть телефон, уже получили СМС сегодня или в Парте."),
        )
    return redirect(_group_url("", organization.pk, class_id))


def _invitation(invitation_id: int) -> PersonalInvitation:
    return get_object_or_404(
        status.with_related(PersonalInvitation.objects.all()), pk=invitation_id
    )


def _back(invitation: PersonalInvitation) -> HttpResponse:
    if invitation.role in status.STAFF_ROLES:
        return redirect(_group_url("", invitation.organization_id, None))
    if invitation.school_class_id is None:
        return redirect("invites:invitations", organization_id=invitation.organization_id)
    return redirect(_group_url("", invitation.organization_id, invitation.school_class_id))


def _told(report: SmsReport) -> tuple[int, str]:
    """The flash message for one person's SMS."""
    if report.sent:
        return messages.SUCCESS, _("СМС отправлено.")
    if report.failed:
        return messages.ERROR, _("СМС не отправлено: шлюз не принял его. Попробуйте позже.")
    if report.skipped_today:
        return messages.INFO, _("Этому человеку СМС уже отправлено за последние сутки.")
    if report.skipped_no_phone:
        return messages.ERROR, _("У этого человека нет телефона в списке.")
    if report.skipped_limit:
        return messages.ERROR, _("Школа отправила много СМС за этот час. Попробуйте позже.")
    if report.skipped_unreadable:
        return messages.ERROR, _("Код этого приглашения утерян: выпустите новый код.")
    return messages.ERROR, _("Приглашение уже использовано или заменено.")


@require_POST
@login_required
def invitation_sms(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = _invitation(invitation_id)
    level, text = _told(send_now([invitation], by=signed_in(request)))
    messages.add_message(request, level, text)
    return _back(invitation)


@require_POST
@login_required
def invitation_reissue(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = _invitation(invitation_id)
    try:
        reissue_invitation(invitation, by=signed_in(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _(
                "Новый код выпущен: %(person)s, старый листок и СМС больше не действуют. "
                "Распечатайте новый листок или отправьте СМС."
            )
            % {"person": invitation.person.full_name},
        )
    return _back(invitation)
