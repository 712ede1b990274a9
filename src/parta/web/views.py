from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from parta.accounts.models import Role
from parta.accounts.selectors import current_memberships, role_history
from parta.web.auth import signed_in


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html")


@login_required
def my_organizations(request: HttpRequest) -> HttpResponse:
    person = signed_in(request)
    memberships = [
        (organization, [Role(role).label for role in roles])
        for organization, roles in current_memberships(person, timezone.now()).items()
    ]
    return render(
        request,
        "web/my_organizations.html",
        {
            "memberships": memberships,
            # Dates are shown in each organization's own time zone.
            "history": role_history(person).select_related("organization__district__region"),
        },
    )
