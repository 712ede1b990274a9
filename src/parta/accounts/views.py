"""Sign-in pages: phone → code → signed in; sign out by POST."""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from parta.accounts.forms import CodeForm, PhoneForm
from parta.accounts.signin import (
    SignInError,
    client_ip,
    request_code,
    start_session,
    verify_code,
)

# Session keys for the two-step form: the phone the code went to, and where to go after.
_PHONE_KEY = "parta_signin_phone"
_NEXT_KEY = "parta_signin_next"


def render_phone_step(
    request: HttpRequest, template: str, context: dict[str, object], retry_after: int | None
) -> HttpResponse:
    """A page asking for the phone. After too many codes it is a 429 that counts down to the
    moment one may ask again (accounts/_retry_countdown.html): in words without JavaScript,
    ticking with it."""
    if retry_after is None:
        return render(request, template, context)
    wait = f"{retry_after // 60}:{retry_after % 60:02d}"
    response = render(
        request, template, {**context, "retry_after": retry_after, "wait": wait}, status=429
    )
    response["Retry-After"] = str(retry_after)
    return response


def submit_phone(
    request: HttpRequest,
    form: PhoneForm,
    *,
    phone_key: str,
    code_page: str,
    phone_page: Callable[[int | None], HttpResponse],
) -> HttpResponse:
    """A phone posted to a sign-in step (here, on the join page, on a personal invitation's
    page): its code sent, the phone kept in the session under `phone_key`, and on to
    `code_page` (a URL's name). Refused, the same page again, by `phone_page`, with the
    reason on the form and, after too many codes, the seconds to wait (render_phone_step)."""
    retry_after = None
    if form.is_valid():
        try:
            sign_in_code = request_code(form.cleaned_data["phone"], client_ip(request))
        except SignInError as refused:
            form.add_error("phone", refused.message)
            retry_after = refused.retry_after
        else:
            request.session[phone_key] = sign_in_code.phone
            return redirect(code_page)
    return phone_page(retry_after)


def _sign_in_page(
    request: HttpRequest, form: PhoneForm, retry_after: int | None = None
) -> HttpResponse:
    return render_phone_step(request, "accounts/sign_in.html", {"form": form}, retry_after)


def sign_in(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = PhoneForm(request.POST)
        return submit_phone(
            request,
            form,
            phone_key=_PHONE_KEY,
            code_page="accounts:sign-in-code",
            phone_page=lambda retry_after: _sign_in_page(request, form, retry_after),
        )
    form = PhoneForm(initial={"phone": request.session.get(_PHONE_KEY, "")})
    next_url = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        request.session[_NEXT_KEY] = next_url
    return _sign_in_page(request, form)


def sign_in_code(request: HttpRequest) -> HttpResponse:
    phone = request.session.get(_PHONE_KEY)
    if not phone:
        return redirect("accounts:sign-in")
    ask_name = False
    if request.method == "POST":
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                person = verify_code(
                    phone,
                    form.cleaned_data["code"],
                    client_ip(request),
                    full_name=form.cleaned_data["full_name"],
                )
            except SignInError as refused:
                ask_name = refused.code in {"name_required", "name_invalid"}
                form.add_error("full_name" if ask_name else "code", refused.message)
            else:
                next_url = request.session.pop(_NEXT_KEY, "") or settings.LOGIN_REDIRECT_URL
                request.session.pop(_PHONE_KEY, None)
                start_session(request, person, shared_computer=form.cleaned_data["shared_computer"])
                return redirect(next_url)
    else:
        form = CodeForm()
    return render(
        request,
        "accounts/sign_in_code.html",
        {
            "form": form,
            "phone": phone,
            "ask_name": ask_name,
            "minutes": settings.PARTA_SIGNIN_CODE_TTL // 60,
        },
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)
