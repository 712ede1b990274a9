"""Phone numbers are stored in E.164; every entry point normalises through here."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
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
