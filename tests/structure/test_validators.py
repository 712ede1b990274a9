import pytest
from django.core.exceptions import ValidationError

from parta.structure.models import Organization
from parta.structure.validators import validate_inn, validate_kpp, validate_ogrn
from tests.factories import make_district

# The authority's own numbers from the activation letter.
LETTER_INN, LETTER_KPP, LETTER_OGRN = "2426001487", "242601001", "1022401506346"


def _other_last_digits(value: str) -> list[str]:
    return [value[:-1] + digit for digit in "0123456789" if digit != value[-1]]


@pytest.mark.parametrize("inn", [LETTER_INN, "7707083893", "7830002293", "500100732259"])
def test_inn_with_right_check_digits_passes(inn):
    validate_inn(inn)


@pytest.mark.parametrize("inn", _other_last_digits(LETTER_INN) + _other_last_digits("7707083893"))
def test_inn10_with_wrong_check_digit_is_refused(inn):
    with pytest.raises(ValidationError, match="контрольная цифра ИНН"):
        validate_inn(inn)


@pytest.mark.parametrize(
    "inn",
    # the 11th digit (first check) wrong, then the 12th (second check) wrong
    ["500100732239", "500100732258", *_other_last_digits("500100732259")],
)
def test_inn12_with_either_check_digit_wrong_is_refused(inn):
    with pytest.raises(ValidationError, match="контрольная цифра ИНН"):
        validate_inn(inn)


@pytest.mark.parametrize(
    "inn", ["", "242600148", "24260014870", "2426OO1487", "2426-01487", " 2426001487"]
)
def test_inn_of_wrong_shape_is_refused(inn):
    with pytest.raises(ValidationError, match=r"10 .* или 12"):
        validate_inn(inn)


@pytest.mark.parametrize("ogrn", [LETTER_OGRN, "1027700132195", "1027739642281", "304500116000157"])
def test_ogrn_with_right_check_digit_passes(ogrn):
    validate_ogrn(ogrn)


@pytest.mark.parametrize(
    "ogrn", _other_last_digits(LETTER_OGRN) + _other_last_digits("304500116000157")
)
def test_ogrn_with_wrong_check_digit_is_refused(ogrn):
    with pytest.raises(ValidationError, match="контрольная цифра ОГРН"):
        validate_ogrn(ogrn)


@pytest.mark.parametrize(
    "ogrn", ["", "102240150634", "10224015063461", "1O22401506346", "3045001160001570"]
)
def test_ogrn_of_wrong_shape_is_refused(ogrn):
    with pytest.raises(ValidationError, match="13 цифр"):
        validate_ogrn(ogrn)


@pytest.mark.parametrize("kpp", [LETTER_KPP, "770101001", "7701AB001", "77010Z001"])
def test_kpp_of_the_published_shape_passes(kpp):
    validate_kpp(kpp)


@pytest.mark.parametrize(
    "kpp", ["", "24260100", "2426010011", "242601a01", "24AB01001", "2426010X1", "2426 01001"]
)
def test_kpp_of_another_shape_is_refused(kpp):
    with pytest.raises(ValidationError, match="КПП: 9 знаков"):
        validate_kpp(kpp)


@pytest.mark.django_db
def test_organization_with_the_letters_numbers_is_valid():
    authority = Organization(
        district=make_district(), kind=Organization.Kind.AUTHORITY,
        full_name="МКУ «Управление образования Мотыгинского района»",
        inn=LETTER_INN, kpp=LETTER_KPP, ogrn=LETTER_OGRN,
    )  # fmt: skip
    authority.full_clean()


@pytest.mark.django_db
def test_organization_with_a_bad_inn_names_the_field_and_is_not_stored():
    organization = Organization(
        district=make_district(), full_name="МБОУ СОШ", inn="2426001488", ogrn=LETTER_OGRN
    )
    with pytest.raises(ValidationError) as caught:
        organization.full_clean()
    assert set(caught.value.message_dict) == {"inn"}
    assert not Organization.objects.exists()
