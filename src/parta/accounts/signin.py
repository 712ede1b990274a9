"""Sign-in by phone: a six-digit one-time code sent by SMS.

Rules (numbers in settings, PARTA_SIGNIN_*):
- a code lives PARTA_SIGNIN_CODE_TTL seconds (5 min) and is stored only as an HMAC keyed
  with SECRET_KEY, so the database never holds a usable code;
- codes go only to numbers of the countries in PARTA_SIGNIN_COUNTRIES (RU), so nobody can run
  up an SMS bill abroad; any other number is refused before anything is stored or sent;
- a request while the phone's code is still valid re-sends that same code, with its expiry
  and its count of wrong tries unchanged (a lost or slow SMS costs nothing; asking again
  gives no extra tries); after expiry or PARTA_SIGNIN_MAX_ATTEMPTS (5) wrong tries, which
  burn the code, a request makes a new one;
- sending is rate-limited per phone (3 per 10 min) and per client IP (20 per hour), in the
  cache, as a sliding window;
- a code is sent to any valid number, so the form does not reveal who is registered. Only
  after the right code does the person learn that no account exists for the number;
- a number without an account gets one only if it is an organization's
  `admin_application_phone` (the administrator from the connection application; the name
  is asked for then), or if the person is redeeming a valid invite link
  (`verify_code(..., with_valid_invite=True)`, called by parta.invites), or takes over the
  roster's record of a valid personal invitation (`verify_code(..., claim=record)`);
- whoever signs in with an organization's application phone receives the admin role there
  (unless held already), recorded as "role.admin_auto_granted".
Codes are never logged; phone numbers are logged masked.
"""

import logging
import math
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import login
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from parta import ratelimit
from parta.accounts.models import Person, Role, SignInCode
from parta.accounts.phones import country_name, country_of, normalize_phone
from parta.accounts.selectors import role_history
from parta.accounts.services import RoleError, create_person, grant_role, record_audit
from parta.accounts.sms import SmsError, get_sms_backend
from parta.ratelimit import Limit
from parta.structure.models import Organization

logger = logging.getLogger("parta.accounts")

CODE_DIGITS = 6


class SignInError(Exception):
    """A refused sign-in step; `message` is for the person, `code` for programs."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retry_after: int | None = None,
        attempts_left: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.attempts_left = attempts_left


def client_ip(request: HttpRequest) -> str:
    if settings.PARTA_SIGNIN_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def masked_phone(phone: str) -> str:
    """+79131234567 → +7913*****67, for logs."""
    return phone[:5] + "*" * max(len(phone) - 7, 0) + phone[-2:]


def _normalize(phone: str) -> str:
    try:
        return normalize_phone(phone)
    except ValidationError as exc:
        raise SignInError("phone_invalid", exc.messages[0]) from exc


def _check_country(phone: str) -> None:
    allowed = settings.PARTA_SIGNIN_COUNTRIES
    if country_of(phone) not in allowed:
        raise SignInError(
            "country_not_allowed",
            _("Коды входа отправляются только на номера этих стран: %(countries)s.")
            % {"countries": ", ".join(country_name(region) for region in allowed)},
        )


def _code_hash(phone: str, code: str) -> str:
    return salted_hmac("parta.accounts.signin", f"{phone}:{code}", algorithm="sha256").hexdigest()


# Re-sending the same code needs the code itself, while the database keeps only its HMAC.
# It is kept in the cache (which already counts the sign-in limits) only until the code
# expires, and even there not in the clear: added modulo 10^6 to a pad, an HMAC (keyed with
# SECRET_KEY) of the row's phone, id and creation moment. Each row has its own pad, so this is
# a one-time pad: a copy of the cache, even with the database, tells nothing of a code without
# SECRET_KEY. (Signing, django.core.signing, would not hide it.) A cache that lost the entry
# (restarted) means a new code, as before.
def _resend_key(sign_in_code: SignInCode) -> str:
    return f"parta:signin:resend:{sign_in_code.pk}"


def _pad(sign_in_code: SignInCode) -> int:
    pad = salted_hmac(
        "parta.accounts.signin.resend",
        f"{sign_in_code.phone}:{sign_in_code.pk}:{sign_in_code.created_at.isoformat()}",
        algorithm="sha256",
    )
    return int(pad.hexdigest(), 16) % 10**CODE_DIGITS


def _keep_for_resend(sign_in_code: SignInCode, code: str, now: datetime) -> None:
    cache.set(
        _resend_key(sign_in_code),
        (int(code) + _pad(sign_in_code)) % 10**CODE_DIGITS,
        timeout=math.ceil((sign_in_code.expires_at - now).total_seconds()),
    )


def _kept_code(sign_in_code: SignInCode) -> str | None:
    masked = cache.get(_resend_key(sign_in_code))
    if not isinstance(masked, int):
        return None
    code = f"{(masked - _pad(sign_in_code)) % 10**CODE_DIGITS:0{CODE_DIGITS}d}"
    if not constant_time_compare(sign_in_code.code_hash, _code_hash(sign_in_code.phone, code)):
        return None
    return code


def _valid_code(phone: str, now: datetime) -> tuple[SignInCode, str] | None:
    """The phone's code that still works now, locked, with its digits; None when a new one
    is needed."""
    sign_in_code = (
        SignInCode.objects.select_for_update()
        .filter(
            phone=phone,
            used_at__isnull=True,
            expires_at__gt=now,
            attempts__lt=settings.PARTA_SIGNIN_MAX_ATTEMPTS,
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if sign_in_code is None:
        return None
    code = _kept_code(sign_in_code)
    return None if code is None else (sign_in_code, code)


def _limits(phone: str, ip: str) -> list[Limit]:
    return [
        Limit(
            f"parta:signin:phone:{phone}",
            settings.PARTA_SIGNIN_PHONE_LIMIT,
            settings.PARTA_SIGNIN_PHONE_WINDOW,
        ),
        Limit(
            f"parta:signin:ip:{ip}", settings.PARTA_SIGNIN_IP_LIMIT, settings.PARTA_SIGNIN_IP_WINDOW
        ),
    ]


def _check_rate_limits(phone: str, ip: str, now: datetime) -> None:
    wait = ratelimit.retry_after(_limits(phone, ip), now)
    if wait is not None:
        minutes = math.ceil(wait / 60)
        raise SignInError(
            "rate_limited",
            ngettext(
                "Слишком много запросов кода. Повторите через %(minutes)d минуту.",
                "Слишком много запросов кода. Повторите через %(minutes)d минут.",
                minutes,
            )
            % {"minutes": minutes},
            retry_after=wait,
        )


def _count_request(phone: str, ip: str, now: datetime) -> None:
    ratelimit.count(_limits(phone, ip), now)


def request_code(phone: str, ip: str, *, now: datetime | None = None) -> SignInCode:
    """Send `phone` its sign-in code: the one still valid, or a new one that replaces
    any spent or expired code."""
    phone_e164 = _normalize(phone)
    _check_country(phone_e164)
    now = now or timezone.now()
    _check_rate_limits(phone_e164, ip, now)
    _count_request(phone_e164, ip, now)
    with transaction.atomic():
        valid = _valid_code(phone_e164, now)
        if valid is None:
            code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
            SignInCode.objects.filter(phone=phone_e164).delete()
            sign_in_code = SignInCode.objects.create(
                phone=phone_e164,
                code_hash=_code_hash(phone_e164, code),
                created_at=now,
                expires_at=now + timedelta(seconds=settings.PARTA_SIGNIN_CODE_TTL),
            )
            _keep_for_resend(sign_in_code, code, now)
        else:
            sign_in_code, code = valid
    text = _("Код для входа в Парту: %(code)s. Никому его не сообщайте.") % {"code": code}
    try:
        get_sms_backend().send(phone_e164, text)
    except SmsError as exc:
        if valid is None:  # a re-sent code stays: the first SMS may still arrive
            sign_in_code.delete()
        logger.error("Sign-in SMS to %s failed: %s", masked_phone(phone_e164), exc)
        raise SignInError(
            "sms_failed", _("Не удалось отправить SMS. Попробуйте ещё раз через несколько минут.")
        ) from exc
    logger.info(
        "Sign-in code %s to %s (requested from %s)",
        "sent" if valid is None else "re-sent",
        masked_phone(phone_e164),
        ip,
    )
    return sign_in_code


def _burnt() -> SignInError:
    return SignInError(
        "too_many_attempts",
        _("Слишком много неверных попыток, этот код больше не действует. Запросите новый код."),
        attempts_left=0,
    )


def _use_code(phone: str, entered: str, now: datetime) -> SignInError | None:
    """Mark the phone's code used if `entered` matches it; otherwise say why not.

    Runs inside the caller's transaction; a wrong try is counted in the row either way.
    """
    sign_in_code = (
        SignInCode.objects.select_for_update()
        .filter(phone=phone, used_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
    if sign_in_code is None:
        return SignInError(
            "no_code", _("Для этого номера нет действующего кода. Запросите новый код.")
        )
    max_attempts = settings.PARTA_SIGNIN_MAX_ATTEMPTS
    if sign_in_code.attempts >= max_attempts:
        return _burnt()
    if sign_in_code.expires_at <= now:
        return SignInError("code_expired", _("Срок действия кода истёк. Запросите новый код."))
    if not constant_time_compare(sign_in_code.code_hash, _code_hash(phone, entered)):
        sign_in_code.attempts += 1
        sign_in_code.save(update_fields=["attempts"])
        attempts_left = max_attempts - sign_in_code.attempts
        if attempts_left <= 0:
            return _burnt()
        return SignInError(
            "code_wrong",
            ngettext(
                "Неверный код. Осталась %(left)d попытка.",
                "Неверный код. Осталось попыток: %(left)d.",
                attempts_left,
            )
            % {"left": attempts_left},
            attempts_left=attempts_left,
        )
    sign_in_code.used_at = now
    sign_in_code.save(update_fields=["used_at"])
    return None


def _new_application_admin(phone: str, full_name: str) -> Person:
    return _new_person(
        phone,
        full_name,
        _("Вы входите впервые как администратор организации. Укажите фамилию, имя и отчество."),
    )


def _new_person(phone: str, full_name: str, name_missing: str) -> Person:
    surname, name, patronymic = Person.split_full_name(full_name)
    if not surname:
        raise SignInError("name_required", name_missing)
    try:
        return create_person(surname=surname, name=name, patronymic=patronymic, phone=phone)
    except ValidationError as exc:
        raise SignInError("name_invalid", "; ".join(exc.messages)) from exc


def _grant_application_admin_roles(
    person: Person, organizations: list[Organization], now: datetime
) -> None:
    for organization in organizations:
        # The application phone makes its owner admin once. An admin whose role was
        # revoked is not restored by signing in again: a new admin comes through an
        # admin-change request, which also replaces the application phone.
        if role_history(person, organization).filter(role=Role.ADMIN).exists():
            continue
        try:
            grant_role(
                person,
                organization,
                Role.ADMIN,
                valid_from=now,
                reason=_("Телефон администратора из заявки на подключение"),
            )
        except RoleError as refused:
            # A planned admin grant starts later (it already says what should happen), or
            # the phone's owner is a student of the school: admins are adults.
            logger.warning(
                "Admin role not auto-granted to person %s in organization %s: %s",
                person.pk,
                organization.pk,
                refused.code,
            )
            continue
        record_audit("role.admin_auto_granted", organization=organization, subject=person)
        logger.info(
            "Admin role auto-granted to person %s in organization %s (phone from the application)",
            person.pk,
            organization.pk,
        )


def _claimed(record: Person, phone: str) -> Person:
    """The roster's record that a personal invitation names takes the number that has no
    account, and becomes its account: no second person for the same human."""
    locked = Person.objects.select_for_update().get(pk=record.pk)
    if locked.last_login is not None or not locked.is_active:
        # Someone already signs in as the record, under another number: not theirs to take.
        raise SignInError(
            "claim_refused",
            _(
                "Это приглашение — для учётной записи, в которую уже входили с другого "
                "номера. Войдите под тем номером или сообщите классному руководителю."
            ),
        )
    old_phone = locked.phone
    locked.phone = phone
    locked.save(update_fields=["phone"])
    record_audit(
        "person.phone_claimed",
        subject=locked,
        phone=masked_phone(phone),
        roster_phone=masked_phone(old_phone) if old_phone else None,
    )
    return locked


def _signing_in_person(
    phone: str,
    full_name: str,
    ip: str,
    now: datetime,
    with_valid_invite: bool,
    claim: Person | None,
) -> Person:
    person = Person.objects.filter(phone=phone).first()
    application_organizations = list(Organization.objects.filter(admin_application_phone=phone))
    if person is None and claim is not None:
        person = _claimed(claim, phone)
    elif person is None and with_valid_invite and not application_organizations:
        person = _new_person(
            phone,
            full_name,
            _("Вы впервые в Парте. Укажите фамилию, имя и отчество, чтобы создать учётную запись."),
        )
        record_audit("person.created_on_invite", subject=person)
    elif person is None:
        if not application_organizations:
            raise SignInError(
                "no_account",
                _(
                    "Для этого номера нет учётной записи. В Парту приглашают по ссылке "
                    "от школы: попросите её у классного руководителя или администратора."
                ),
            )
        person = _new_application_admin(phone, full_name)
        record_audit("person.created_on_sign_in", subject=person)
    elif not person.is_active:
        raise SignInError("account_disabled", _("Учётная запись отключена. Обратитесь в школу."))
    _grant_application_admin_roles(person, application_organizations, now)
    record_audit("person.signed_in", actor=person, subject=person, ip=ip)
    return person


def verify_code(
    phone: str,
    code: str,
    ip: str,
    *,
    full_name: str = "",
    with_valid_invite: bool = False,
    claim: Person | None = None,
    now: datetime | None = None,
) -> Person:
    """Check the code sent to `phone` and return the person signing in.

    `full_name` is used only when an organization's administrator signs in for the first
    time and an account is created for them, or when `with_valid_invite` is set: the caller
    (parta.invites) has checked that this browser holds a usable invite link, so a number
    without an account gets one under that name.

    `claim` is the roster's record a usable personal invitation names (checked by
    parta.invites): a number without an account takes over that record — its phone is set
    and it becomes the account, no second person is made and no name is asked. A number
    that has an account signs in to it as usual (the invitation merges the record later).
    A record someone already signed in as is not taken over ("claim_refused").

    A refusal after the right code (no account, name missing) leaves the code usable; a
    wrong code is counted.
    """
    phone_e164 = _normalize(phone)
    now = now or timezone.now()
    entered = "".join(code.split())
    try:
        with transaction.atomic():
            failure = _use_code(phone_e164, entered, now)
            if failure is None:
                person = _signing_in_person(
                    phone_e164, full_name, ip, now, with_valid_invite, claim
                )
    except SignInError as refused:
        failure = refused
    if failure is not None:
        logger.info(
            "Sign-in refused for %s from %s: %s", masked_phone(phone_e164), ip, failure.code
        )
        raise failure
    logger.info("Person %s signed in from %s", person.pk, ip)
    return person


def start_session(request: HttpRequest, person: Person, *, shared_computer: bool = False) -> None:
    """Sign `person` in on this browser for PARTA_SESSION_AGE; on a shared computer
    («Чужой компьютер») the session cookie instead ends when the browser closes."""
    login(request, person)
    if shared_computer:
        request.session.set_expiry(0)
