"""Pages for an organization's admins: the profile and the classes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from parta.accounts.selectors import admin_organization, teachers_of
from parta.schools import services
from parta.schools.forms import ClassForm, ProfileForm, StaffingPlanForm
from parta.structure.models import Organization, SchoolClass
from parta.structure.selectors import classes_of, current_academic_year
from parta.web.auth import signed_in


def _form_errors(form: object, error: ValidationError) -> None:
    for message in error.messages:
        form.add_error(None, message)  # type: ignore[attr-defined]


@login_required
def profile(request: HttpRequest, organization_id: int) -> HttpResponse:
    organization = admin_organization(signed_in(request), organization_id)
    form = ProfileForm(request.POST or None, instance=Organization.objects.get(pk=organization.pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(
                organization,
                actor=signed_in(request),
                **{name: form.cleaned_data[name] for name in services.PROFILE_FIELDS},
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("Профиль организации сохранён."))
            return redirect("structure:profile", organization_id=organization.pk)
    return render(request, "schools/profile.html", {"organization": organization, "form": form})


@login_required
def classes(request: HttpRequest, organization_id: int) -> HttpResponse:
    organization = admin_organization(signed_in(request), organization_id)
    year = current_academic_year(organization)
    actor = signed_in(request)
    plan_form = StaffingPlanForm(initial={"academic_year": year})
    class_form = ClassForm(
        initial={"academic_year": year}, teachers=teachers_of(organization, timezone.now())
    )
    if request.method == "POST" and "plan" in request.POST:
        plan_form = StaffingPlanForm(request.POST)
        if plan_form.is_valid():
            try:
                result = services.create_classes(
                    organization,
                    plan_form.cleaned_data["plan"],
                    actor=actor,
                    academic_year=plan_form.cleaned_data["academic_year"],
                    with_staff_class=plan_form.cleaned_data["with_staff_class"],
                )
            except ValidationError as error:
                _form_errors(plan_form, error)
            else:
                messages.success(
                    request,
                    ngettext(
                        "Создан %(count)d класс.",
                        "Создано классов: %(count)d.",
                        len(result.created),
                    )
                    % {"count": len(result.created)},
                )
                if result.existing:
                    messages.info(
                        request,
                        _("Уже были, не изменены: %(names)s.")
                        % {"names": ", ".join(result.existing)},
                    )
                return redirect("structure:classes", organization_id=organization.pk)
    elif request.method == "POST":
        class_form = ClassForm(request.POST, teachers=teachers_of(organization, timezone.now()))
        if class_form.is_valid():
            try:
                school_class = services.create_class(
                    organization,
                    class_form.cleaned_data["name"],
                    actor=actor,
                    academic_year=class_form.cleaned_data["academic_year"],
                    is_staff_class=class_form.cleaned_data["is_staff_class"],
                    class_teacher=class_form.cleaned_data["class_teacher"],
                )
            except ValidationError as error:
                _form_errors(class_form, error)
            else:
                messages.success(request, _("Класс «%(name)s» создан.") % {"name": school_class})
                return redirect("structure:classes", organization_id=organization.pk)
    return render(
        request,
        "schools/classes.html",
        {
            "organization": organization,
            "classes": classes_of(organization),
            "plan_form": plan_form,
            "class_form": class_form,
            "year": year,
        },
    )


@login_required
def class_edit(request: HttpRequest, organization_id: int, class_id: int) -> HttpResponse:
    organization = admin_organization(signed_in(request), organization_id)
    school_class = get_object_or_404(SchoolClass, pk=class_id, organization=organization)
    form = ClassForm(
        request.POST or None,
        teachers=teachers_of(organization, timezone.now()),
        initial={
            "name": school_class.name,
            "academic_year": school_class.academic_year,
            "class_teacher": school_class.class_teacher_id,
            "is_staff_class": school_class.is_staff_class,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_class(
                school_class,
                actor=signed_in(request),
                name=form.cleaned_data["name"],
                academic_year=form.cleaned_data["academic_year"],
                class_teacher=form.cleaned_data["class_teacher"],
                is_staff_class=form.cleaned_data["is_staff_class"],
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("Класс «%(name)s» сохранён.") % {"name": school_class})
            return redirect("structure:classes", organization_id=organization.pk)
    return render(
        request,
        "schools/class_edit.html",
        {"organization": organization, "school_class": school_class, "form": form},
    )
