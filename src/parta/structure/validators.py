"""Checks for the registration numbers of Russian organizations.

INN and OGRN carry check digits (Federal Tax Service rules); KPP has none, so it
is checked for its published shape: 4 digits of the tax office, 2 characters of
the reason code (digits or capital Latin letters), 3 digits of the sequence.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_KPP_RE = re.compile(r"^\d{4}[0-9A-Z]{2}\d{3}$")


def _check_digit(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def validate_inn(value: str) -> None:
    if not value.isdigit() or len(value) not in (10, 12):
        raise ValidationError(_("ИНН состоит из 10 (организация) или 12 (физлицо) цифр."))
    if len(value) == 10:
        ok = _check_digit(value, _INN10_WEIGHTS) == int(value[9])
    else:
        ok = _check_digit(value, _INN12_WEIGHTS_11) == int(value[10]) and _check_digit(
            value, _INN12_WEIGHTS_12
        ) == int(value[11])
    if not ok:
        raise ValidationError(_("Неверная контрольная цифра ИНН."))


def validate_ogrn(value: str) -> None:
    if not value.isdigit() or len(value) not in (13, 15):
        raise ValidationError(_("ОГРН состоит из 13 цифр (ОГРНИП — из 15)."))
    body, check = int(value[:-1]), int(value[-1])
    modulus = 11 if len(value) == 13 else 13
    if body % modulus % 10 != check:
        raise ValidationError(_("Неверная контрольная цифра ОГРН."))


def validate_kpp(value: str) -> None:
    if not _KPP_RE.match(value):
        raise ValidationError(
            _("КПП: 9 знаков — 4 цифры, 2 цифры или заглавные латинские буквы, 3 цифры.")
        )
