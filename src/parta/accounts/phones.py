"""Phone numbers are stored in E.164; every entry point normalises through here."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext as _


def normalize_phone(raw: str) -> str:
    """Return the number in E.164 (+79131234567) or raise ValidationError."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Укажите номер мобильного телефона."), code="phone_empty")
    # Russian habit: 8 913 … means +7 913 …
    if text.startswith("8") and len("".join(ch for ch in text if ch.isdigit())) == 11:
        text = "+7" + "".join(ch for ch in text if ch.isdigit())[1:]
    try:
        number = phonenumbers.parse(text, settings.PARTA_DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Это не номер телефона."), code="phone_invalid") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Такого номера телефона не бывает."), code="phone_invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def country_of(phone_e164: str) -> str | None:
    """The country (ISO 3166 code) of a normalised number. +7 is shared: +7 7xx is KZ."""
    region: str | None = phonenumbers.region_code_for_number(phonenumbers.parse(phone_e164))
    return region


def country_name(region: str) -> str:
    """«Россия» for RU, in the current language; the code itself for one phonenumbers lacks."""
    # Imported here, for the rare refusal that names countries: it takes a second to load.
    from phonenumbers import geocoder

    # phonenumbers names a country only through a number of it.
    example = phonenumbers.example_number(region)
    language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    name: str = geocoder.country_name_for_number(example, language) if example else ""
    return name or region
